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
	"io"
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

// fxChromium is Debian's chromium; $CHROMIUM overrides.
func fxChromium(t *testing.T) string {
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

func fxChromiumArgs(t *testing.T, args ...string) []string {
	return append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir()}, args...)
}

// fxChromiumCommand is chromium in a process group of its own, all of it killed
// when ctx ends: its helper processes would otherwise outlive it and keep
// writing into the profile directory.
func fxChromiumCommand(ctx context.Context, t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, fxChromium(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// fxRunChromium runs headless chromium on url with args and returns its stdout.
// Virtual time lets the page's fetches, timers and the event finish before the
// DOM is dumped or the screenshot taken.
func fxRunChromium(t *testing.T, url string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	args = append(fxChromiumArgs(t, "--virtual-time-budget=5000"), args...)
	cmd := fxChromiumCommand(ctx, t, append(args, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	return string(out)
}

// fxStart serves the embedded page and the fixture; its stream says shop
// changed after 300 ms, then ends (see fxServer.closeAfterEvent).
func fxStart(t *testing.T, f *fxServer) string {
	t.Helper()
	web, err := fs.Sub(webFS, "web")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.handler(web))
	t.Cleanup(srv.Close)
	return srv.URL
}

func fxNew() *fxServer {
	return &fxServer{eventAfter: 300 * time.Millisecond, closeAfterEvent: true}
}

// fxDOM is a page's serialized DOM, as chromium's --dump-dom writes it: attributes
// in the order the page wrote them, values in double quotes.
type fxDOM string

func (d fxDOM) count(re string) int {
	return len(regexp.MustCompile(re).FindAllStringIndex(string(d), -1))
}

func (d fxDOM) attr(name string) string {
	m := regexp.MustCompile(`<body[^>]*\s` + regexp.QuoteMeta(name) + `="([^"]*)"`).FindStringSubmatch(string(d))
	if m == nil {
		return ""
	}
	return m[1]
}

// element is the outer HTML of the first element of tag whose start tag matches
// re, up to the first closing tag of tag (so not for elements nested in their own kind).
func (d fxDOM) element(t *testing.T, tag, re string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<` + tag + `\b[^>]*` + re + `[^>]*>.*?</` + tag + `>`).FindString(string(d))
	if m == "" {
		t.Errorf("no <%s> matching %s in the page", tag, re)
	}
	return m
}

func fxRendered(t *testing.T, d fxDOM, page string, atLeast int) {
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
		fxServe(t, *fixtureServe)
	}
	url := fxStart(t, fxNew())
	d := fxDOM(fxRunChromium(t, url+"/#/", "--dump-dom"))
	fxRendered(t, d, "stacks", 2)

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
		t.Errorf("the status message %q was not shown as text", fxHostile)
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
	f := fxNew()
	f.forbidden = `appstacks.apps.appstack.dev is forbidden: User "dev" cannot list resource "appstacks" at the cluster scope; ` +
		"ask for appstack-viewer-role"
	d := fxDOM(fxRunChromium(t, fxStart(t, f)+"/#/", "--dump-dom"))
	fxRendered(t, d, "stacks", 1)
	if p := d.element(t, "p", `id="forbidden"`); !strings.Contains(p, "appstack-viewer-role") {
		t.Errorf("#forbidden does not carry the server's words: %s", p)
	}
	if n := d.count(`<tr data-stack=`); n != 0 {
		t.Errorf("%d stack rows shown to an identity that may not list stacks", n)
	}
}

func TestFixtureStackPage(t *testing.T) {
	d := fxDOM(fxRunChromium(t, fxStart(t, fxNew())+"/#/stacks/shop", "--dump-dom"))
	fxRendered(t, d, "stack", 2)
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
	fxPod := `data-kind="Pod" data-name="api-7d9f8b6c5d-x2k4p" data-uid="uid-pod-api-7d9f8b6c5d-x2k4p" ` +
		`data-waiting="ImagePullBackOff" data-restarts="0"`
	crash := `data-kind="Pod" data-name="worker-5c8d7-qq9lm" data-uid="[^"]+" data-waiting="CrashLoopBackOff" data-restarts="4"`
	if d.count(regexp.QuoteMeta(fxPod)) != 1 || d.count(crash) != 1 {
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
		t.Errorf("the event message %q was not shown as text", fxHostile)
	}
	// The diff of the revision before the current one against it, +/- lines marked.
	diff := d.element(t, "pre", `id="diff"`)
	if !strings.Contains(diff, `<span class="del">-    - image: example/shop-api:1.4.2</span>`) ||
		!strings.Contains(diff, `<span class="add">+    - image: example/shop-api:1.5.0</span>`) {
		t.Errorf("#diff does not show revision 1 against 2:\n%s", diff)
	}
}

func TestFixtureStackMissing(t *testing.T) {
	d := fxDOM(fxRunChromium(t, fxStart(t, fxNew())+"/#/stacks/nope", "--dump-dom"))
	fxRendered(t, d, "stack", 1)
	if p := d.element(t, "p", `id="error"`); !strings.Contains(p, `stack "nope" not found`) {
		t.Errorf("a stack that does not exist is not said plainly: %s", p)
	}
}

// TestFixtureScreenshots keeps the stacks and stack pages at laptop and phone
// widths as PNGs (-fixture.shots DIR), and checks chromium wrote them.
func TestFixtureScreenshots(t *testing.T) {
	url := fxStart(t, fxNew())
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
		fxRunChromium(t, url+"/"+s.hash, "--window-size="+s.size, "--screenshot="+file)
		if st, err := os.Stat(file); err != nil || st.Size() < 10000 {
			t.Fatalf("screenshot %s missing or empty: %v", file, err)
		}
		t.Logf("screenshot %s", file)
	}
}

// fxProbe opens the page at hash in a frame of a probe page, in real time (the
// event stream held open, no virtual time), and runs script in the probe with
// w and d, the frame's window and document, once the page has drawn, and
// until(cond), a promise kept once cond() holds. What script returns is posted
// back and decoded into out.
func fxProbe(t *testing.T, f *fxServer, hash, script string, out any) {
	t.Helper()
	web, err := fs.Sub(webFS, "web")
	if err != nil {
		t.Fatal(err)
	}
	report := make(chan []byte, 1)
	mux := http.NewServeMux()
	mux.Handle("/", f.handler(web))
	mux.HandleFunc("GET /fixture/probe", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintf(w, fxProbeHTML, hash, script)
	})
	mux.HandleFunc("POST /fixture/report", func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		report <- b
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cmd := fxChromiumCommand(ctx, t, append(fxChromiumArgs(t, "--window-size=1400,1000"), srv.URL+"/fixture/probe")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	select {
	case b := <-report:
		var e struct{ Error string }
		if _ = json.Unmarshal(b, &e); e.Error != "" {
			t.Fatalf("the probe script failed: %s", e.Error)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("the probe's report %s: %v", b, err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the probe page reported nothing in 90 s")
	}
}

const fxProbeHTML = `<!doctype html><iframe id="f" src="/%s" width="1366" height="800"></iframe><script>
const f = document.getElementById("f");
const until = (cond) => new Promise((ok) => {
  const t = setInterval(() => { try { if (cond()) { clearInterval(t); ok(); } } catch (e) { /* not yet */ } }, 20);
});
(async () => {
  let out;
  try {
    await until(() => f.contentDocument.body.dataset.rendered);
    const w = f.contentWindow, d = f.contentDocument;
    out = await (async () => { %s })();
  } catch (e) { out = {error: String(e && e.stack || e)}; }
  fetch("/fixture/report", {method: "POST", body: JSON.stringify(out)});
})();
</script>`

// TestFixtureStacksTiming draws 500 stacks in real time and reports how long
// the first draw took (building the rows, the DOM and the layout), how long
// since the page was opened, and how long filtering by health takes; it fails
// when the draw takes a second or the filter half of one.
func TestFixtureStacksTiming(t *testing.T) {
	var tm struct {
		Rows, Shown               int
		FirstMs, DrawMs, FilterMs float64
	}
	fxProbe(t, &fxServer{eventAfter: time.Hour}, "#/", `
  const b = d.body.dataset, sel = d.getElementById("health-filter");
  const t0 = w.performance.now();
  sel.value = "Failed";
  sel.dispatchEvent(new w.Event("change", {bubbles: true}));
  void d.body.offsetHeight;
  const filterMs = w.performance.now() - t0;
  const rows = [...d.querySelectorAll("#stacks tbody tr")];
  return {Rows: rows.length, Shown: rows.filter((r) => !r.hidden).length, FirstMs: +b.firstMs, DrawMs: +b.drawMs, FilterMs: filterMs};`,
		&tm)
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

// TestFixtureStackSelection clicks the failed node, then lets the event re-draw
// the page: the node and its card stay selected, and the page stays scrolled
// where the click took it.
func TestFixtureStackSelection(t *testing.T) {
	var r struct {
		Before, After struct {
			Selected, Focused, WebGone bool
			Y                          float64
			Rendered                   int
		}
	}
	fxProbe(t, &fxServer{eventAfter: 5 * time.Second}, "#/stacks/shop", `
  const b = d.body.dataset;
  const node = () => d.querySelector('g.node[data-node="component/api"]');
  const card = () => d.querySelector('[data-card="component/api"]');
  const look = () => ({Selected: node().classList.contains("selected") && card().classList.contains("selected"),
    Focused: d.activeElement === card(), WebGone: !d.querySelector('[data-kind="Deployment"][data-name="web"]'),
    Y: w.scrollY, Rendered: +b.rendered});
  node().dispatchEvent(new w.MouseEvent("click", {bubbles: true}));
  await new Promise((ok) => setTimeout(ok, 1500)); // the smooth scroll ends
  const before = look();
  await until(() => +b.rendered > before.Rendered);
  return {Before: before, After: look()};`,
		&r)
	if !r.Before.Selected || !r.Before.Focused || r.Before.Y <= 0 || r.Before.WebGone {
		t.Errorf("clicking node api did not select it, focus its card and scroll to it (or the event came first): %+v", r.Before)
	}
	if !r.After.Selected || !r.After.Focused || !r.After.WebGone || r.After.Y != r.Before.Y {
		t.Errorf("after the event's re-draw: selected %v, focused %v, Deployment web gone %v, scrolled to %v (was %v)",
			r.After.Selected, r.After.Focused, r.After.WebGone, r.After.Y, r.Before.Y)
	}
}

// fxServe serves the fixture from the web directory (edits show on
// reload), its event after 5 s and the stream held open, until interrupted.
func fxServe(t *testing.T, addr string) {
	f := &fxServer{eventAfter: 5 * time.Second, closeAfterEvent: *fixtureClose}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("serving the fixture on http://%s/", l.Addr())
	_ = http.Serve(l, f.handler(os.DirFS("web")))
}
