//go:build e2e

// The browser helpers on a page of their own, in headless Chromium: `make
// test-e2e` runs these first (after make tools-chromium), so that a broken helper
// fails here and not as a puzzling dashboard spec.
package utils

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeDashboard follows the DOM contract of docs/dashboard.md: 100 ms after
// loading it draws three stack rows (data-page, data-rendered, the rendered
// mark), the filter narrows them, and 300 ms after the first draw the web
// Deployment is recreated with a new data-uid.
const fakeDashboard = `<!doctype html>
<html><head><title>fake</title><link rel="icon" href="data:,"><script src="/app.js" defer></script></head>
<body><input id="filter"><table id="stacks"></table>
<div data-kind="Deployment" data-name="web" data-uid="uid-1"></div></body></html>`

const fakeApp = `
const names = ['alpha', 'beta', 'gamma'];
let draws = 0;
function draw(filter) {
	const t = document.getElementById('stacks');
	t.innerHTML = names.map(n => '<tr data-stack="' + n + '" data-health="Ready"' + (n.includes(filter) ? '' : ' hidden') +
		'><td>' + n + '</td></tr>').join('');
	document.body.dataset.page = 'stacks';
	document.body.dataset.rendered = String(++draws);
	performance.mark('appstack:rendered');
}
setTimeout(() => {
	for (const end = Date.now() + 80; Date.now() < end;) {} // a task that stalls the page
	draw('');
	setTimeout(() => document.querySelector('[data-kind=Deployment]').setAttribute('data-uid', 'uid-2'), 300);
}, 100);
document.getElementById('filter').addEventListener('input', e => draw(e.target.value));
`

func servePages(t *testing.T, pages map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript")
		} else {
			w.Header().Set("Content-Type", "text/html")
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func startBrowser(t *testing.T, opts BrowserOptions) context.Context {
	t.Helper()
	b, err := StartBrowser(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b.Context()
}

func TestBrowserWaitsAndMetrics(t *testing.T) {
	url := servePages(t, map[string]string{"/": fakeDashboard, "/app.js": fakeApp})
	ctx := startBrowser(t, BrowserOptions{})
	opened := time.Now()
	if err := Open(ctx, url+"/#/"); err != nil {
		t.Fatal(err)
	}
	seen, err := WaitRendered(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if seen.Value != "1" || seen.At.Before(opened.Add(90*time.Millisecond)) {
		t.Errorf("WaitRendered(1) = %+v, want the first draw, 100 ms or more after %s", seen, opened.Format("15:04:05.000"))
	}
	if _, err := WaitCount(ctx, "tr[data-stack]", 3); err != nil {
		t.Fatal(err)
	}
	if seen, err := WaitAtLeast(ctx, "tr[data-stack], input", 2); err != nil || seen.Value != "4" {
		t.Errorf("WaitAtLeast(2) of 3 rows and the input = %+v, %v; want 4", seen, err)
	}
	if seen, err := WaitAttr(ctx, "tr[data-stack]", "data-health"); err != nil || seen.Value != "Ready" {
		t.Errorf("WaitAttr(data-health), any value = %+v, %v; want Ready", seen, err)
	}
	if got, err := Attrs(ctx, "tr[data-stack]", "data-stack"); err != nil || strings.Join(got, ",") != "alpha,beta,gamma" {
		t.Errorf("Attrs(data-stack) = %q, %v; want alpha, beta, gamma", got, err)
	}

	filled, err := Fill(ctx, "#filter", "mm")
	if err != nil {
		t.Fatal(err)
	}
	narrowed, err := WaitShown(ctx, "tr[data-stack]", 1)
	if err != nil {
		t.Fatal(err)
	}
	// The filter hides rows: all three are in the DOM, one is shown.
	all, _ := Attrs(ctx, "tr[data-stack]", "data-stack")
	shown, _ := Attrs(ctx, "tr[data-stack]:not([hidden])", "data-stack")
	if len(all) != 3 || strings.Join(shown, ",") != "gamma" || narrowed.At.Before(filled) {
		t.Errorf("after filling the filter with mm: rows %q, shown %q, seen at %s (filled at %s); want 3, gamma shown, after the fill",
			all, shown, narrowed.At.Format("15:04:05.000"), filled.Format("15:04:05.000"))
	}
	if seen, err := WaitText(ctx, "tr[data-stack=gamma]", "gam"); err != nil || seen.Value != "gamma" {
		t.Errorf("WaitText(gamma row, gam) = %+v, %v; want its text gamma", seen, err)
	}

	changed, err := WaitAttrChange(ctx, "[data-kind=Deployment][data-name=web]", "data-uid", "uid-1")
	if err != nil || changed.Value != "uid-2" {
		t.Errorf("WaitAttrChange(data-uid) = %+v, %v; want uid-2", changed, err)
	}

	checkFakeMetrics(t, ctx, seen)
	if err := CheckPageErrors(ctx); err != nil {
		t.Error(err)
	}
}

// checkFakeMetrics checks PageMetrics on the fake dashboard, whose first draw
// WaitRendered saw as first.
func checkFakeMetrics(t *testing.T, ctx context.Context, first Seen) {
	t.Helper()
	m, err := PageMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fake page: %s", m)
	// The document and app.js, with their headers.
	if min := int64(len(fakeDashboard) + len(fakeApp)); m.TransferBytes < min || m.DecodedBodyBytes < min {
		t.Errorf("transferred %d bytes (%d unpacked), want at least the page and its script, %d", m.TransferBytes, m.DecodedBodyBytes, min)
	}
	if m.Resources != 1 {
		t.Errorf("Resources = %d, want 1 (app.js)", m.Resources)
	}
	if m.FirstRender < 90*time.Millisecond || m.PageSet < 90*time.Millisecond || m.FirstRender > 5*time.Second {
		t.Errorf("first render at %s, data-page at %s; want both about 100 ms after navigating (the page draws after a 100 ms timer)", m.FirstRender, m.PageSet)
	}
	if m.LongTasks < 1 || m.LongestTask < 75*time.Millisecond {
		t.Errorf("%d long tasks, the longest %s; want the page's 80 ms busy loop", m.LongTasks, m.LongestTask)
	}
	if since := first.At.Sub(m.Origin); since < m.FirstRender-5*time.Millisecond || since > m.FirstRender+50*time.Millisecond {
		t.Errorf("the first draw seen %s after the navigation (Origin %s), the page's mark says %s", since, m.Origin.Format("15:04:05.000"), m.FirstRender)
	}
	if m.FirstContentfulPaint <= 0 || m.Load <= 0 || m.Renders != 2 {
		t.Errorf("first contentful paint %s, load %s, draws %d; want the first two set and 2 draws", m.FirstContentfulPaint, m.Load, m.Renders)
	}
}

func TestBrowserWaitTimeoutSaysWhatThePageShowed(t *testing.T) {
	url := servePages(t, map[string]string{"/": fakeDashboard, "/app.js": fakeApp})
	ctx := startBrowser(t, BrowserOptions{})
	if err := Open(ctx, url+"/"); err != nil {
		t.Fatal(err)
	}
	if _, err := WaitRendered(ctx, 1); err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer scancel()
	if _, err := Fill(ctx, "#filter", "alpha"); err != nil {
		t.Fatal(err)
	}
	if _, err := WaitShown(sctx, "tr[data-stack]", 3); err == nil || !strings.Contains(err.Error(), "3 × tr[data-stack] shown: not seen") {
		t.Errorf("WaitShown(3) with two rows hidden by the filter = %v, want a timeout", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := WaitAttr(wctx, "tr[data-stack=beta]", "data-health", "Failed")
	if err == nil {
		t.Fatal("waiting for a health the row never has succeeded")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the wait took %s, want about its 300 ms timeout", took)
	}
	for _, want := range []string{`tr[data-stack=beta][data-health] in ["Failed"]: not seen`, `data-page="stacks" data-rendered="2"`,
		`1 element(s) match tr[data-stack=beta]`, `<tr data-stack="beta" data-health="Ready" hidden="">`, "alpha"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

func TestBrowserPageErrors(t *testing.T) {
	url := servePages(t, map[string]string{
		"/":       `<!doctype html><body><script src="/bad.js"></script></body>`,
		"/bad.js": `console.log('fine'); console.error('cannot read the stacks:', 'boom'); null.x;`,
	})
	ctx := startBrowser(t, BrowserOptions{})
	if err := Open(ctx, url+"/"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(PageErrors(ctx)) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	err := CheckPageErrors(ctx)
	if err == nil {
		t.Fatal("a page that logs an error and throws passed CheckPageErrors")
	}
	for _, want := range []string{"error: cannot read the stacks: boom", "exception: ", "TypeError", "/bad.js:1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the page errors do not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "fine") {
		t.Errorf("console.log counted as an error:\n%v", err)
	}
}

func TestBrowserScreenshotIsTheWholePage(t *testing.T) {
	url := servePages(t, map[string]string{"/": `<!doctype html><body style="margin:0"><div style="height:2500px;background:#08c">tall</div></body>`})
	ctx := startBrowser(t, BrowserOptions{Width: 800, Height: 600})
	if err := Open(ctx, url+"/"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shots", "page.png")
	if err := Screenshot(ctx, path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	if size := img.Bounds().Size(); size.X != 800 || size.Y < 2500 {
		t.Errorf("screenshot is %dx%d, want 800 wide and the page's 2500 px tall, not the 600 px window", size.X, size.Y)
	}
}

func TestBrowserMissingSaysHowToInstall(t *testing.T) {
	t.Setenv("CHROMIUM", filepath.Join(t.TempDir(), "chromium"))
	_, err := StartBrowser(context.Background(), BrowserOptions{})
	if err == nil || !strings.Contains(err.Error(), "make tools-chromium") {
		t.Errorf("StartBrowser without a browser = %v, want an error naming make tools-chromium", err)
	}
}
