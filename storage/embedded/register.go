package embedded

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/meridian-xmpp/meridian/storage"
)

// defaultFile is the store's file name inside the node's data directory.
const defaultFile = "meridian.db"

func init() { storage.Register("embedded", opener) }

// opener is the storage.Opener. Options:
//
//	path  string  the store file; relative to dataDir unless absolute
//	              (default dataDir/meridian.db)
//
// Any other option is an error naming it: config is strict.
func opener(dataDir string, options map[string]any) (*storage.Stores, error) {
	path := ""
	for k, v := range options {
		switch k {
		case "path":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("storage/embedded: option path: want a string, have %T", v)
			}
			path = s
		default:
			return nil, fmt.Errorf("storage/embedded: unknown option %q", k)
		}
	}
	switch {
	case path == "" && dataDir == "":
		return nil, errors.New("storage/embedded: no data directory and no path option")
	case path == "":
		path = filepath.Join(dataDir, defaultFile)
	case !filepath.IsAbs(path):
		path = filepath.Join(dataDir, path)
	}
	db, err := Open(path)
	if err != nil {
		return nil, err
	}
	return db.Stores(), nil
}
