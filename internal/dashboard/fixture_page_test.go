//go:build browser && unix

package dashboard

// The page in headless chromium against the fixture server (fixture_test.go):
// the DOM of docs/dashboard.md "The page's DOM", after a server-sent event,
// screenshots at laptop and phone widths, and the time to draw 500 stacks.
//
//	go test -tags browser ./internal/dashboard -run TestFixture -v [-fixture.shots DIR]

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
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
	"syscall"
	"testing"
	"time"
)

var (
	fixtureServe = flag.String("fixture.serve", "", "serve the fixture on this address until interrupted, instead of testing")
	fixtureClose = flag.Bool("fixture.close", false, "with -fixture.serve: end the event stream after its event, "+
		"for chromium's --virtual-time-budget")
	fixtureShots = flag.String("fixture.shots", "", "write the screenshots into this directory (default: the test's temporary directory)")
)

// chromium is Debian's chromium; $CHROMIUM overrides.
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

func chromiumArgs(t *testing.T, args ...string) []string {
	return append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir()}, args...)
}

// chromiumCommand is chromium in a process group of its own, all of it killed
// when ctx ends: its helper processes would otherwise outlive it and keep
// writing into the profile directory.
func chromiumCommand(ctx context.Context, t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, chromium(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// runChromium runs headless chromium on url with args and returns its stdout.
// Virtual time lets the page's fetches, timers and the event finish before the
// DOM is dumped or the screenshot taken.
func runChromium(t *testing.T, url string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	args = append(chromiumArgs(t, "--virtual-time-budget=5000"), args...)
	cmd := chromiumCommand(ctx, t, append(args, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	return string(out)
}

// startFixture serves the embedded page and the fixture; its stream says shop
// changed after 300 ms, then ends (see fixture.closeAfterEvent).
func startFixture(t *testing.T, f *fixture) string {
	t.Helper()
	web, err := fs.Sub(webFS, "web")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.handler(web))
	t.Cleanup(srv.Close)
	return srv.URL
}

func newFixture() *fixture { return &fixture{eventAfter: 300 * time.Millisecond, closeAfterEvent: true} }

// dom is a page's serialized DOM, as chromium's --dump-dom writes it: attributes
// in the order the page wrote them, values in double quotes.
type dom string

func (d dom) count(re string) int { return len(regexp.MustCompile(re).FindAllStringIndex(string(d), -1)) }

func (d dom) attr(name string) string {
	m := regexp.MustCompile(`<body[^>]*\s` + regexp.QuoteMeta(name) + `="([^"]*)"`).FindStringSubmatch(string(d))
	if m == nil {
		return ""
	}
	return m[1]
}

// element is the outer HTML of the first element of tag whose start tag matches
// re, up to the first closing tag of tag (so not for elements nested in their own kind).
func (d dom) element(t *testing.T, tag, re string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<` + tag + `\b[^>]*` + re + `[^>]*>.*?</` + tag + `>`).FindString(string(d))
	if m == "" {
		t.Errorf("no <%s> matching %s in the page", tag, re)
	}
	return m
}

func rendered(t *testing.T, d dom, page string, atLeast int) {
	t.Helper()
	if got := d.attr("data-page"); got != page {
		t.Fatalf("body[data-page] = %q, want %q", got, page)
	}
	if n, _ := strconv.Atoi(d.attr("data-rendered")); n < atLeast {
		t.Errorf("body[data-rendered] = %d, want at least %d (a draw, and one more after the event)", n, atLeast)
	}
}

func TestFixtureStacksPage(t *testing.T) {
	if *fixtureServe != "" {
		serveFixture(t, *fixtureServe)
	}
	url := startFixture(t, newFixture())
	d := dom(runChromium(t, url+"/#/", "--dump-dom"))
	rendered(t, d, "stacks", 2)

	rows := regexp.MustCompile(`<tr data-stack="([^"]*)" data-health="([^"]*)"`).FindAllStringSubmatch(string(d), -1)
	want := fixtureStacks(true).Stacks
	if len(rows) != len(want) {
		t.Fatalf("table#stacks has %d rows, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		if r[1] != want[i].Name || r[2] != want[i].Health {
			t.Fatalf("row %d is %s (%s), want %s (%s): the rows keep the server's order", i, r[1], r[2], want[i].Name, want[i].Health)
		}
	}
	// The event said shop changed: the list was read again.
	if shop := d.element(t, "tr", `data-stack="shop"`); !strings.Contains(shop, ">1/5<") {
		t.Errorf("shop's row after the event does not show READY 1/5:\n%s", shop)
	}
	// A message written as markup stays text.
	if d.attr("data-pwned") != "" || d.count(`<img`) != 0 || !strings.Contains(string(d), "&lt;img src=x") {
		t.Errorf("the status message %q was not shown as text", hostileMessage)
	}
	failed := d.count(`<tr data-stack="[^"]*" data-health="Failed"`)
	if opt := fmt.Sprintf(`<option value="Failed">Failed (%d)</option>`, failed); !strings.Contains(string(d), opt) {
		t.Errorf("select#health-filter has no %s", opt)
	}
	if d.count(`id="filter"`) != 1 || d.count(`id="forbidden"`) != 0 {
		t.Errorf("the stacks page should have input#filter and no #forbidden")
	}
}

func TestFixtureStacksForbidden(t *testing.T) {
	f := newFixture()
	f.forbidden = `appstacks.apps.appstack.dev is forbidden: User "dev" cannot list resource "appstacks" at the cluster scope; ` +
		"ask for appstack-viewer-role"
	d := dom(runChromium(t, startFixture(t, f)+"/#/", "--dump-dom"))
	rendered(t, d, "stacks", 1)
	if p := d.element(t, "p", `id="forbidden"`); !strings.Contains(p, "appstack-viewer-role") {
		t.Errorf("#forbidden does not carry the server's words: %s", p)
	}
	if n := d.count(`<tr data-stack=`); n != 0 {
		t.Errorf("%d stack rows shown to an identity that may not list stacks", n)
	}
}

func TestFixtureStackPage(t *testing.T) {
	d := dom(runChromium(t, startFixture(t, newFixture())+"/#/stacks/shop", "--dump-dom"))
	rendered(t, d, "stack", 2)
	if n := d.count(`<g class="node [^"]*" data-node="[^"]+" data-phase="`); n != 8 {
		t.Errorf("#graph has %d g.node, want 8 (5 components, a volume, 2 configs)", n)
	}
	api := d.element(t, "g", `data-node="component/api" data-phase="Failed"`)
	if !regexp.MustCompile(`class="node-message">.*ImagePullBackOff`).MatchString(api) {
		t.Errorf("the failed node api does not show its cause in .node-message:\n%s", api)
	}
	if d.count(`<path class="edge edge-dependsOn"[^>]*marker-end`) != 4 || d.count(`<path class="edge edge-uses"`) != 4 {
		t.Errorf("want 4 dependsOn arrows and 4 dashed uses edges")
	}
	pod := `data-kind="Pod" data-name="api-7d9f8b6c5d-x2k4p" data-uid="uid-pod-api-7d9f8b6c5d-x2k4p" ` +
		`data-waiting="ImagePullBackOff" data-restarts="0"`
	crash := `data-kind="Pod" data-name="worker-5c8d7-qq9lm" data-uid="[^"]+" data-waiting="CrashLoopBackOff" data-restarts="4"`
	if d.count(regexp.QuoteMeta(pod)) != 1 || d.count(crash) != 1 {
		t.Errorf("the pods api-7d9f8b6c5d-x2k4p (ImagePullBackOff) and worker-5c8d7-qq9lm (4 restarts) are not marked")
	}
	// After the event: web's Deployment was deleted, and the page says so without a reload.
	if d.count(`data-kind="Deployment" data-name="web"`) != 0 || d.count(`data-node="component/web" data-phase="Progressing"`) != 1 {
		t.Errorf("after the event the page still shows Deployment web, or web not Progressing")
	}
	for _, id := range []string{"conditions", "revisions", "rollback", "events", "actions", "hidden", "graph"} {
		if d.count(`id="`+id+`"`) != 1 {
			t.Errorf("no #%s", id)
		}
	}
	if n := d.count(`<li data-action="[^"]+"><span class="atitle">[^<]+</span><code>kubectl `); n != 3 {
		t.Errorf("#actions has %d [data-action] with a kubectl command in code, want 3", n)
	}
	if n := strings.Count(d.element(t, "section", `id="hidden"`), "<li>"); n != 2 {
		t.Errorf("#hidden has %d li, want 2", n)
	}
	if !strings.Contains(d.element(t, "section", `id="rollback"`), "revision 2 runs instead of 3") {
		t.Errorf("#rollback does not name the revisions")
	}
	claim := d.element(t, "li", `data-kind="PersistentVolumeClaim" data-name="orders-data"`)
	if !strings.Contains(claim, ">retained<") || !strings.Contains(claim, "1Gi") {
		t.Errorf("the retained claim orders-data is not marked retained with its capacity:\n%s", claim)
	}
	if d.attr("data-pwned") != "" || d.count(`<img`) != 0 || !strings.Contains(string(d), "Readiness probe failed: &lt;img src=x") {
		t.Errorf("the event message %q was not shown as text", hostileMessage)
	}
	// The diff of the revision before the current one against it, +/- lines marked.
	diff := d.element(t, "pre", `id="diff"`)
	if !strings.Contains(diff, `<span class="del">-    - image: example/shop-api:1.4.2</span>`) ||
		!strings.Contains(diff, `<span class="add">+    - image: example/shop-api:1.5.0</span>`) {
		t.Errorf("#diff does not show revision 1 against 2:\n%s", diff)
	}
}

func TestFixtureStackMissing(t *testing.T) {
	d := dom(runChromium(t, startFixture(t, newFixture())+"/#/stacks/nope", "--dump-dom"))
	rendered(t, d, "stack", 1)
	if p := d.element(t, "p", `id="error"`); !strings.Contains(p, `stack "nope" not found`) {
		t.Errorf("a stack that does not exist is not said plainly: %s", p)
	}
}

// TestFixtureScreenshots keeps the stacks and stack pages at laptop and phone
// widths as PNGs (-fixture.shots DIR), and checks chromium wrote them.
func TestFixtureScreenshots(t *testing.T) {
	url := startFixture(t, newFixture())
	dir := *fixtureShots
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ name, hash, size string }{
		{"stacks-1366", "#/", "1366,900"}, {"stacks-390", "#/", "390,844"},
		{"shop-1366", "#/stacks/shop", "1366,2300"}, {"shop-390", "#/stacks/shop", "390,4200"},
	} {
		file, err := filepath.Abs(filepath.Join(dir, s.name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		runChromium(t, url+"/"+s.hash, "--window-size="+s.size, "--screenshot="+file)
		if st, err := os.Stat(file); err != nil || st.Size() < 10000 {
			t.Fatalf("screenshot %s missing or empty: %v", file, err)
		}
		t.Logf("screenshot %s", file)
	}
}

// timing is what the probe page (probeHTML) reports of the stacks page.
type timing struct {
	Rows     int     `json:"rows"`
	FirstMs  float64 `json:"firstMs"`
	DrawMs   float64 `json:"drawMs"`
	FilterMs float64 `json:"filterMs"`
	Shown    int     `json:"shown"`
}

// probeHTML loads the page in a frame, in real time (a stream held open, no
// virtual time), waits for its first draw, filters by health, and posts what
// it measured to /fixture/report.
const probeHTML = `<!doctype html><iframe id="f" src="/#/" width="1366" height="900"></iframe><script>
const f = document.getElementById("f");
const poll = setInterval(() => {
  const d = f.contentDocument;
  if (!d || !d.body || !d.body.dataset.rendered) return;
  clearInterval(poll);
  const w = f.contentWindow, b = d.body.dataset, sel = d.getElementById("health-filter");
  const t0 = w.performance.now();
  sel.value = "Failed";
  sel.dispatchEvent(new w.Event("change", {bubbles: true}));
  void d.body.offsetHeight;
  const filterMs = w.performance.now() - t0;
  const rows = d.querySelectorAll("#stacks tbody tr");
  fetch("/fixture/report", {method: "POST", body: JSON.stringify({rows: rows.length, firstMs: +b.firstMs,
    drawMs: +b.drawMs, filterMs, shown: [...rows].filter((r) => !r.hidden).length})});
}, 20);
</script>`

// TestFixtureStacksTiming draws 500 stacks in real time and reports how long
// the first draw took (building the rows, the DOM and the layout) and how long
// since the page was opened; it fails when the draw takes a second.
func TestFixtureStacksTiming(t *testing.T) {
	f := &fixture{eventAfter: time.Hour}
	web, err := fs.Sub(webFS, "web")
	if err != nil {
		t.Fatal(err)
	}
	report := make(chan timing, 1)
	mux := http.NewServeMux()
	mux.Handle("/", f.handler(web))
	mux.HandleFunc("GET /fixture/probe", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprint(w, probeHTML) })
	mux.HandleFunc("POST /fixture/report", func(_ http.ResponseWriter, r *http.Request) {
		var tm timing
		if err := json.NewDecoder(r.Body).Decode(&tm); err == nil {
			report <- tm
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cmd := chromiumCommand(ctx, t, append(chromiumArgs(t, "--window-size=1400,1000"), srv.URL+"/fixture/probe")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	var tm timing
	select {
	case tm = <-report:
	case <-time.After(90 * time.Second):
		t.Fatal("the probe page reported nothing in 90 s")
	}
	t.Logf("500 stacks: first draw %.1f ms (rows, DOM and layout), drawn %.0f ms after the page was opened; "+
		"filtering by health %.1f ms", tm.DrawMs, tm.FirstMs, tm.FilterMs)
	failed := 0
	for _, r := range fixtureStacks(false).Stacks {
		if r.Health == "Failed" {
			failed++
		}
	}
	if tm.Rows != 500 || tm.Shown != failed {
		t.Errorf("the probe saw %d rows, %d shown by the Failed filter; want 500 and %d", tm.Rows, tm.Shown, failed)
	}
	if tm.DrawMs <= 0 || tm.DrawMs > 1000 || tm.FilterMs > 500 {
		t.Errorf("drawing 500 stacks took %.1f ms, filtering them %.1f ms: the page stalls", tm.DrawMs, tm.FilterMs)
	}
}

// serveFixture serves the fixture from the web directory (edits show on
// reload), its event after 5 s and the stream held open, until interrupted.
func serveFixture(t *testing.T, addr string) {
	f := &fixture{eventAfter: 5 * time.Second, closeAfterEvent: *fixtureClose}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("serving the fixture on http://%s/", l.Addr())
	_ = http.Serve(l, f.handler(os.DirFS("web")))
}
