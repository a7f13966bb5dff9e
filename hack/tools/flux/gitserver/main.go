// Command gitserver serves the bare Git repositories under a directory over plain
// HTTP on a loopback address, for the e2e suite's Flux (test/utils/flux.go): Flux's
// source-controller clones them, the suite pushes to them with the git CLI.
//
//	gitserver -root DIR [-listen 127.0.0.1:0]
//
// It prints its URL (http://127.0.0.1:PORT) as the first line on standard output,
// once it accepts connections, and serves until it is killed. A repository
// DIR/NAME.git is at URL/NAME.git; repositories are not created on push, so a
// wrong URL fails with 404 instead of serving an empty repository. No
// authentication: it refuses any address that is not loopback.
//
// It is github.com/fluxcd/gitkit, the smart-HTTP server that Flux's own test
// server (github.com/fluxcd/pkg/gittestserver) wraps; that wrapper serves only
// on an httptest server, whose port cannot be chosen.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/fluxcd/gitkit"
)

func main() {
	root := flag.String("root", "", "directory holding the bare repositories (NAME.git); created when missing")
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to serve on (port 0: a free port)")
	flag.Parse()
	if err := serve(*root, *listen); err != nil {
		fmt.Fprintln(os.Stderr, "gitserver:", err)
		os.Exit(1)
	}
}

func serve(root, listen string) error {
	if root == "" {
		return errors.New("-root is required: the directory of the bare repositories to serve")
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %q: not a loopback IP address; this server has no authentication and accepts pushes", listen)
	}
	// gitkit joins the request's path to Dir: an absolute Dir keeps that
	// independent of the working directory.
	if root, err = filepath.Abs(root); err != nil {
		return err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	srv := gitkit.New(gitkit.Config{Dir: root})
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Printf("http://%s\n", l.Addr())
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	return hs.Serve(l)
}
