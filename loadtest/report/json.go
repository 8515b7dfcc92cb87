package report

import (
	"encoding/json"
	"io"
	"os"

	"github.com/meridian-xmpp/meridian/loadtest"
)

// WriteJSON writes the result, indented, to path, or to w when path is
// "-" or empty.
func WriteJSON(path string, w io.Writer, res *loadtest.Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "" || path == "-" {
		_, err = w.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
