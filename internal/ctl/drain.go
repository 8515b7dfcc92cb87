package ctl

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/meridian-xmpp/meridian/core/admin"
	"github.com/meridian-xmpp/meridian/core/auth"
)

// listFlag collects a repeatable flag; commas separate values too.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// drain starts a lame-duck drain of the node reached (POST /v1/drain).
// NODE, when given, must be that node's name: a guard against draining
// the wrong node.
func (c *client) drain(args []string) error {
	fs := flag.NewFlagSet("drain", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	timeout := fs.Duration("timeout", admin.DefaultDrainTimeout, "how long to wait for the clients to leave")
	period := fs.Duration("period", admin.DefaultDrainPeriod, "the stream ends are spread over this")
	var to listFlag
	fs.Var(&to, "to", "host[:port] of another edge for <see-other-host/> (repeatable)")
	if err := fs.Parse(args); err != nil {
		return usageError("drain: %v", err)
	}
	if fs.NArg() > 1 {
		return usageError("drain takes at most one node name")
	}
	if *timeout <= 0 || *period < 0 {
		return usageError("drain: --timeout must be positive and --period not negative")
	}
	if name := fs.Arg(0); name != "" {
		var s admin.Status
		asJSON := c.json
		c.json = false // the guard's answer is not the command's output
		err := c.call("GET", "/v1/status", nil, &s)
		c.json = asJSON
		if err != nil {
			return err
		}
		if s.Node != name {
			return fmt.Errorf("drain: the node reached is %q, not %q (use --url to reach %s)", s.Node, name, name)
		}
	}
	req := admin.DrainRequest{Timeout: timeout.String(), Period: period.String(), Redirect: to}
	var st admin.DrainState
	if err := c.call("POST", "/v1/drain", req, &st); err != nil {
		if errors.Is(err, auth.ErrExists) { // 409: nothing to drain
			return errors.New(strings.TrimPrefix(err.Error(), auth.ErrExists.Error()+": "))
		}
		return err
	}
	to2 := "<system-shutdown/>"
	if len(st.Redirect) > 0 {
		to2 = "<see-other-host/> to " + strings.Join(st.Redirect, ", ")
	}
	fmt.Fprintf(c.stdout, "draining since %s: %d streams left, ended over %s with %s; deadline %s\n",
		st.Since.Format(time.RFC3339), st.Streams, st.Period, to2, st.Deadline.Format(time.RFC3339))
	return nil
}
