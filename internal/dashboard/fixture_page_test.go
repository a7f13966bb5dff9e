//go:build browser

package dashboard

import (
	"context"
	"flag"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	fixtureServe = flag.String("fixture.serve", "", "after the checks, serve the fixture on this address until interrupted")
	fixtureShots = flag.String("fixture.shots", "", "write the screenshots into this directory (default: the test's temporary directory)")
)

// chromium is Debian's chromium (docs/dashboard.md); $CHROMIUM overrides.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: install Debian's chromium package (apt-get install chromium) or set $CHROMIUM to the browser")
	return ""
}

// runChromium runs headless chromium on url with args and returns its stdout.
// Virtual time lets the page's timers and fetches finish before the DOM is dumped.
func runChromium(t *testing.T, url string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--no-first-run", "--virtual-time-budget=4000"}, args...)
	cmd := exec.CommandContext(ctx, chromium(t), append(all, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	return string(out)
}

func startFixture(t *testing.T, eventAfter time.Duration) (*fixture, string) {
	t.Helper()
	f := &fixture{eventAfter: eventAfter}
	web, err := fs.Sub(webFS, "web")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.handler(web))
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func TestFixturePages(t *testing.T) {
	if *fixtureServe != "" {
		serveFixture(t, *fixtureServe)
	}
	_, url := startFixture(t, time.Hour)
	dom := runChromium(t, url+"/#/", "--dump-dom")
	t.Log(len(dom))
	_ = regexp.MustCompile
	_ = strconv.Itoa
	_ = filepath.Join
}

func serveFixture(t *testing.T, addr string) {
	f := &fixture{eventAfter: 5 * time.Second, closeAfterEvent: os.Getenv("FIXTURE_CLOSE") != ""}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("serving the fixture on http://%s/", l.Addr())
	// From the directory, not the embedded copy: edits show on reload.
	_ = http.Serve(l, f.handler(os.DirFS("web")))
}
