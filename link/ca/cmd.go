package ca

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Main runs `meridian ca init|issue`; args start after "ca". It returns
// the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	usage := func() int {
		fmt.Fprintln(stderr, "usage: meridian ca init --dir DIR\n       meridian ca issue --dir DIR --name NODE [--host h1,h2] [--out DIR] [--days N]")
		return 2
	}
	if len(args) == 0 {
		return usage()
	}
	fs := flag.NewFlagSet("meridian ca "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "CA directory (ca.crt, ca.key)")
	switch args[0] {
	case "init":
		if fs.Parse(args[1:]) != nil || *dir == "" || fs.NArg() > 0 {
			return usage()
		}
		if err := Init(*dir); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "cluster CA created: %s/%s (key %s/%s, keep it off the nodes)\n", *dir, CertFile, *dir, KeyFile)
		return 0
	case "issue":
		name := fs.String("name", "", "node name (certificate common name and DNS name)")
		hosts := fs.String("host", "", "more names or IP addresses, comma-separated")
		out := fs.String("out", "", "directory for NODE.crt and NODE.key (default: --dir)")
		days := fs.Int("days", 365, "validity in days")
		if fs.Parse(args[1:]) != nil || *dir == "" || *name == "" || fs.NArg() > 0 || *days <= 0 {
			return usage()
		}
		var hs []string
		if *hosts != "" {
			hs = strings.Split(*hosts, ",")
		}
		cf, kf, err := Issue(*dir, IssueOptions{Name: *name, Hosts: hs, Out: *out, Validity: time.Duration(*days) * 24 * time.Hour})
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "node certificate: %s\nnode key:         %s\n", cf, kf)
		return 0
	}
	return usage()
}
