package utils

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The headless browser of the dashboard's e2e specs and of the bench's -dashboard
// phase: Debian's chromium (make tools-chromium), driven over the DevTools
// protocol by chromedp. The page's DOM contract these helpers read is in
// docs/dashboard.md ("The page's DOM").

// DefaultChromium is where Debian's chromium package puts the browser; $CHROMIUM
// names another.
const DefaultChromium = "/usr/bin/chromium"

// DefaultWait bounds a helper's wait when its context has no deadline.
var DefaultWait = 10 * time.Second

// RenderedMark is the performance mark the page sets after each draw
// (docs/dashboard.md); PageMetrics reads the first as the time to first render.
const RenderedMark = "appstack:rendered"

// BrowserOptions are how StartBrowser starts the browser.
type BrowserOptions struct {
	// Width and Height are the window's size in CSS pixels (default 1366×900, a
	// laptop's).
	Width, Height int
}

// Browser is a headless Chromium with one tab, started by StartBrowser. Its
// Context is the tab's: pass it (or one derived from it, with a timeout) to the
// helpers below and to chromedp.Run.
type Browser struct {
	ctx     context.Context
	cancel  context.CancelFunc
	dataDir string
	output  *lastBytes

	mu       sync.Mutex
	problems []string // console errors and uncaught exceptions, in order
}

type browserKey struct{}

// ChromiumPath is the browser StartBrowser runs: $CHROMIUM, else /usr/bin/chromium.
func ChromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return DefaultChromium
}

// ChromiumMissing says why the browser cannot run here ("" when it can): what is
// missing and how to install it.
func ChromiumMissing() string {
	p := ChromiumPath()
	if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		if os.Getenv("CHROMIUM") != "" {
			return fmt.Sprintf("CHROMIUM=%s is not an executable: point it at a Chromium binary, or unset it and run `make tools-chromium`", p)
		}
		return fmt.Sprintf("no headless browser at %s: run `make tools-chromium` (installs Debian's chromium with apt-get, as root) or set CHROMIUM to a Chromium binary", p)
	}
	return ""
}

// StartBrowser starts headless Chromium (without its sandbox when this process is
// root, which the sandbox refuses) with a throwaway profile, opens a tab, and
// starts collecting the page's console errors and uncaught exceptions. The
// browser lives until Close or until ctx ends, so ctx should be the test's, not
// one with a short timeout.
func StartBrowser(ctx context.Context, opts BrowserOptions) (*Browser, error) {
	if why := ChromiumMissing(); why != "" {
		return nil, errors.New(why)
	}
	if opts.Width == 0 || opts.Height == 0 {
		opts.Width, opts.Height = 1366, 900
	}
	dir, err := os.MkdirTemp("", "appstack-chromium-")
	if err != nil {
		return nil, fmt.Errorf("browser profile directory: %w", err)
	}
	b := &Browser{dataDir: dir, output: &lastBytes{max: 8 << 10}}
	flags := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath()),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(opts.Width, opts.Height),
		chromedp.CombinedOutput(b.output),
	)
	if os.Geteuid() == 0 {
		flags = append(flags, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, flags...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	b.cancel = func() { cancelTab(); cancelAlloc() }
	b.ctx = context.WithValue(tabCtx, browserKey{}, b)
	// The first Do starts the browser and attaches the tab; the timing script is
	// then in every document the tab loads, before the page's own scripts.
	if err := chromedp.Do(b.ctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("starting %s: %w; its output:\n%s", ChromiumPath(), err, b.output)
	}
	if _, err := chromedp.Call(b.ctx, cdppage.AddScriptToEvaluateOnNewDocument,
		cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: timingScript}); err != nil {
		b.Close()
		return nil, fmt.Errorf("installing the page timing script: %w", err)
	}
	go b.collectConsole(chromedp.Console(b.ctx))
	return b, nil
}

// Context is the tab's context.
func (b *Browser) Context() context.Context { return b.ctx }

// Output is the end of the browser's own stdout and stderr.
func (b *Browser) Output() string { return b.output.String() }

// Close stops the browser and removes its profile.
func (b *Browser) Close() {
	b.cancel()
	_ = os.RemoveAll(b.dataDir)
}

// Open loads url as a new document (by way of about:blank, so that a URL that
// differs from the current one only in its #fragment loads afresh and its
// timings start at zero) and waits for its load event.
func Open(ctx context.Context, url string) error {
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("opening %s: %w", url, err)
	}
	return nil
}

// PageErrors are the console errors and uncaught exceptions of the pages the
// browser of ctx loaded so far, each with where it came from.
func PageErrors(ctx context.Context) []string {
	b, _ := ctx.Value(browserKey{}).(*Browser)
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// CheckPageErrors fails when a page wrote a console error or threw an uncaught
// exception.
func CheckPageErrors(ctx context.Context) error {
	if errs := PageErrors(ctx); len(errs) > 0 {
		return fmt.Errorf("the page logged %d error(s):\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
	return nil
}

// collectConsole keeps the error-level messages of the tab's console: calls of
// console.error, uncaught exceptions and rejections, and the browser's own
// errors about the page (a failed request, a refused script).
func (b *Browser) collectConsole(messages iter.Seq2[chromedp.ConsoleMessage, error]) {
	for m, err := range messages {
		if err != nil {
			return
		}
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException || browserOwn(m) {
			continue
		}
		where := m.URL
		if where != "" {
			where = fmt.Sprintf(" (%s:%d)", where, m.Line+1)
		}
		b.mu.Lock()
		b.problems = append(b.problems, m.String()+where)
		b.mu.Unlock()
	}
}

// browserOwn is an error about what the browser asked for on its own, not the
// page: the /favicon.ico it requests of every site that names no icon.
func browserOwn(m chromedp.ConsoleMessage) bool {
	return m.Source == "network" && strings.HasSuffix(m.URL, "/favicon.ico")
}

// Screenshot writes the whole page, not only the viewport, as a PNG to path
// (its directory created).
func Screenshot(ctx context.Context, path string) error {
	metrics, err := chromedp.Call(ctx, cdppage.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return fmt.Errorf("screenshot %s: page layout: %w", path, err)
	}
	size := metrics.CSSContentSize
	shot, err := chromedp.Call(ctx, cdppage.CaptureScreenshot, cdppage.CaptureScreenshotParams{
		Format:                cdppage.CaptureScreenshotFormatPng,
		Clip:                  &cdppage.Viewport{Width: size.Width, Height: size.Height, Scale: 1},
		CaptureBeyondViewport: new(true),
		FromSurface:           new(true),
	})
	if err != nil {
		return fmt.Errorf("screenshot %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, shot.Data, 0o644)
}

// lastBytes keeps the last max bytes written to it.
type lastBytes struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *lastBytes) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *lastBytes) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
