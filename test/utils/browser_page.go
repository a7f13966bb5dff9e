package utils

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// What the tests read from the page, by the DOM contract of docs/dashboard.md.
// Every wait polls in the page on each DOM mutation (so it sees a change as it
// happens, not at the next tick of a timer), takes the page's clock at that
// moment, and when it times out says what the page showed instead.

// Seen is what a wait saw: when its condition first held, by the page's clock
// (the same machine's as the test's), and the value that made it hold.
type Seen struct {
	At    time.Time
	Value string
}

// seenJS is Seen as the page returns it.
type seenJS struct {
	At    float64 `json:"at"` // Date.now()
	Value string  `json:"value"`
}

// WaitRendered waits until body[data-rendered] is at least n: the page has drawn
// n times since it loaded.
func WaitRendered(ctx context.Context, n int) (Seen, error) {
	return WaitPage(ctx, fmt.Sprintf("body[data-rendered] ≥ %d", n), "body", `n => {
		const b = document.body;
		const c = b ? parseInt(b.dataset.rendered || '0', 10) : 0;
		return c >= n ? c : null;
	}`, n)
}

// WaitAttr waits until the first element matching sel has attribute attr with one
// of the values want (any value when want is empty), and returns the value.
func WaitAttr(ctx context.Context, sel, attr string, want ...string) (Seen, error) {
	what := fmt.Sprintf("%s[%s]", sel, attr)
	if len(want) > 0 {
		what = fmt.Sprintf("%s[%s] in %q", sel, attr, want)
	}
	// An empty list reaches the page as undefined (the protocol leaves it out).
	return WaitPage(ctx, what, sel, `(sel, attr, want) => {
		const e = document.querySelector(sel);
		if (!e || !e.hasAttribute(attr)) return null;
		const v = e.getAttribute(attr);
		return !want || want.length === 0 || want.includes(v) ? v : null;
	}`, sel, attr, want)
}

// WaitAttrChange waits until the first element matching sel has attribute attr
// with a value other than old (say the data-uid of an object recreated under the
// same name), and returns it.
func WaitAttrChange(ctx context.Context, sel, attr, old string) (Seen, error) {
	return WaitPage(ctx, fmt.Sprintf("%s[%s] other than %q", sel, attr, old), sel, `(sel, attr, old) => {
		const e = document.querySelector(sel);
		const v = e ? e.getAttribute(attr) : null;
		return v !== null && v !== old ? v : null;
	}`, sel, attr, old)
}

// WaitCount waits until exactly n elements match sel.
func WaitCount(ctx context.Context, sel string, n int) (Seen, error) {
	return WaitPage(ctx, fmt.Sprintf("%d × %s", n, sel), sel, `(sel, n) => {
		const c = document.querySelectorAll(sel).length;
		return c === n ? c : null;
	}`, sel, n)
}

// WaitAtLeast waits until n or more elements match sel, and returns how many.
func WaitAtLeast(ctx context.Context, sel string, n int) (Seen, error) {
	return WaitPage(ctx, fmt.Sprintf("%d or more × %s", n, sel), sel, `(sel, n) => {
		const c = document.querySelectorAll(sel).length;
		return c >= n ? c : null;
	}`, sel, n)
}

// WaitShown waits until exactly n elements matching sel are shown: in the DOM and
// laid out (not display:none, not in a hidden subtree), as a filter leaves rows.
func WaitShown(ctx context.Context, sel string, n int) (Seen, error) {
	return WaitPage(ctx, fmt.Sprintf("%d × %s shown", n, sel), sel, `(sel, n) => {
		const c = Array.from(document.querySelectorAll(sel)).filter(e => e.getClientRects().length > 0).length;
		return c === n ? c : null;
	}`, sel, n)
}

// WaitText waits until the text of the first element matching sel contains
// want, and returns that text.
func WaitText(ctx context.Context, sel, want string) (Seen, error) {
	return WaitPage(ctx, fmt.Sprintf("%s with text %q", sel, want), sel, `(sel, want) => {
		const e = document.querySelector(sel);
		return e && e.textContent.includes(want) ? e.textContent.trim() : null;
	}`, sel, want)
}

// WaitPage waits until the JavaScript function fn, called with args, returns
// something other than null, undefined or false, and returns that as a string.
// what names the condition and sel the elements to show when it times out
// ("" for none). The wait ends at ctx's deadline, or after DefaultWait.
func WaitPage(ctx context.Context, what, sel, fn string, args ...any) (Seen, error) {
	timeout := DefaultWait
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	start := time.Now()
	wrapped := `(...args) => {
		const v = (` + fn + `)(...args);
		return v === null || v === undefined || v === false ? null : {at: Date.now(), value: String(v)};
	}`
	for {
		left := timeout - time.Since(start)
		got, err := chromedp.Run(ctx, chromedp.PollFunction[seenJS](wrapped, chromedp.WithPollingMutation(),
			chromedp.WithPollingTimeout(max(left, time.Millisecond)), chromedp.WithPollingArgs(args...)))
		if err == nil {
			return Seen{At: time.UnixMilli(int64(got.At)), Value: got.Value}, nil
		}
		// The poll ran in a document that was going away (just navigated from,
		// or reloading): it runs again in the new one.
		if navigatedAway(err) && left > 20*time.Millisecond {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		return Seen{}, waitFailed(ctx, what, sel, start, err)
	}
}

// navigatedAway is the error of a script that ran in a document that is gone.
func navigatedAway(err error) bool {
	for _, s := range []string{"Cannot find context with specified id", "Execution context was destroyed", "Inspected target navigated or closed"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

func waitFailed(ctx context.Context, what, sel string, start time.Time, err error) error {
	if errors.Is(err, chromedp.ErrPollingTimeout) || errors.Is(err, context.DeadlineExceeded) {
		err = errors.New("not seen")
	}
	return fmt.Errorf("waiting %s for %s: %w; %s", time.Since(start).Round(time.Millisecond), what, err, Showing(ctx, sel))
}

// pageState is what the page showed, for a failing wait's message.
type pageState struct {
	URL      string   `json:"url"`
	Page     string   `json:"page"`
	Rendered string   `json:"rendered"`
	Count    int      `json:"count"`
	Matches  []string `json:"matches"`
	Text     string   `json:"text"`
}

// Showing says what the page shows: its URL, body's data-page and data-rendered,
// the elements matching sel (the first five, shortened), the start of its text,
// and the console errors so far. It reads the page even when ctx has ended.
func Showing(ctx context.Context, sel string) string {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	q, _ := json.Marshal(sel)
	st, err := chromedp.Run(rctx, chromedp.Evaluate[pageState](`((sel) => {
		const b = document.body;
		const m = sel ? Array.from(document.querySelectorAll(sel)) : [];
		return {url: location.href, page: b ? b.dataset.page || '' : '', rendered: b ? b.dataset.rendered || '' : '',
			count: m.length, matches: m.slice(0, 5).map(e => e.outerHTML.slice(0, 400)),
			text: b ? b.innerText.replace(/\n\s*\n/g, '\n').slice(0, 1500) : ''};
	})(`+string(q)+`)`))
	if err != nil {
		return fmt.Sprintf("the page could not be read: %v", err)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "the page %s showed body data-page=%q data-rendered=%q", st.URL, st.Page, st.Rendered)
	if sel != "" {
		fmt.Fprintf(&s, "; %d element(s) match %s", st.Count, sel)
		for _, m := range st.Matches {
			fmt.Fprintf(&s, "\n    %s", m)
		}
	}
	fmt.Fprintf(&s, "\n  text:\n    %s", strings.ReplaceAll(strings.TrimSpace(st.Text), "\n", "\n    "))
	if errs := PageErrors(ctx); len(errs) > 0 {
		fmt.Fprintf(&s, "\n  console errors:\n    %s", strings.Join(errs, "\n    "))
	}
	return s.String()
}

// Texts is the text of every element matching sel as shown (innerText; a hidden
// element's is its textContent), trimmed, in document order.
func Texts(ctx context.Context, sel string) ([]string, error) {
	return pageStrings(ctx, sel, `e => e.innerText.trim()`)
}

// Attrs is attribute attr of every element matching sel ("" where it has none),
// in document order.
func Attrs(ctx context.Context, sel, attr string) ([]string, error) {
	q, _ := json.Marshal(attr)
	return pageStrings(ctx, sel, `e => e.getAttribute(`+string(q)+`) || ''`)
}

func pageStrings(ctx context.Context, sel, each string) ([]string, error) {
	q, _ := json.Marshal(sel)
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll(`+string(q)+`)).map(`+each+`)`))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", sel, err)
	}
	return out, nil
}

// Fill sets the value of the input or select matching sel at once, as a paste
// would, and fires its input and change events; it returns the page's clock
// just before the events, from which a WaitX's Seen.At measures how long the
// page took to follow.
func Fill(ctx context.Context, sel, value string) (time.Time, error) {
	q, _ := json.Marshal(sel)
	v, _ := json.Marshal(value)
	at, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`((sel, v) => {
		const e = document.querySelector(sel);
		if (!e) return -1;
		e.value = v;
		const at = Date.now();
		e.dispatchEvent(new Event('input', {bubbles: true}));
		e.dispatchEvent(new Event('change', {bubbles: true}));
		return at;
	})(`+string(q)+`, `+string(v)+`)`))
	if err != nil {
		return time.Time{}, fmt.Errorf("filling %s: %w", sel, err)
	}
	if at < 0 {
		return time.Time{}, fmt.Errorf("filling %s: no such element; %s", sel, Showing(ctx, sel))
	}
	return time.UnixMilli(int64(at)), nil
}

// timingScript runs in every document the tab loads, before the page's scripts:
// it notes, by performance.now() (milliseconds since the navigation started),
// when body[data-page] is first set and when each draw counted by
// body[data-rendered] happens, keeps every Resource Timing entry, and notes how
// long each task that held the page's main thread over 50 ms took (the page
// stalled: no input, no drawing).
const timingScript = `(() => {
	if (window.__appstackTimes) return;
	const t = window.__appstackTimes = {page: null, rendered: [], longTasks: []};
	try { performance.setResourceTimingBufferSize(100000); } catch (e) {}
	try {
		new PerformanceObserver(l => l.getEntries().forEach(e => t.longTasks.push(e.duration))).observe({type: 'longtask', buffered: true});
	} catch (e) {}
	const look = () => {
		const b = document.body;
		if (!b) return;
		if (t.page === null && b.dataset.page) t.page = performance.now();
		const n = parseInt(b.dataset.rendered || '0', 10);
		while (t.rendered.length < n) t.rendered.push(performance.now());
	};
	new MutationObserver(look).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-page', 'data-rendered']});
	document.addEventListener('DOMContentLoaded', look);
})();`

// PageStats is what loading the current page cost and how soon it showed
// something, each time since the navigation started (0 when it never happened).
type PageStats struct {
	// TransferBytes went over the network for the document and every resource
	// and API read since (Resource Timing transferSize: headers and the
	// possibly compressed bodies); EncodedBodyBytes and DecodedBodyBytes are the
	// bodies as sent and unpacked. A server-sent event stream still open is not
	// counted.
	TransferBytes, EncodedBodyBytes, DecodedBodyBytes int64
	// Resources is how many requests the page made besides the document.
	Resources int
	// FirstPaint and FirstContentfulPaint are the browser's paint timings.
	FirstPaint, FirstContentfulPaint time.Duration
	// DOMContentLoaded and Load end the document's events.
	DOMContentLoaded, Load time.Duration
	// PageSet is when body[data-page] was first set; FirstRender when the page
	// first marked a draw done (performance.mark('appstack:rendered'), else
	// body[data-rendered] first counting one).
	PageSet, FirstRender time.Duration
	// Renders counts the draws so far.
	Renders int
	// LongTasks counts the tasks that held the main thread over 50 ms, the
	// longest of which took LongestTask.
	LongTasks   int
	LongestTask time.Duration
	// Origin is when the navigation started (performance.timeOrigin), from
	// which a Seen.At is a time since navigating.
	Origin time.Time
}

// pageMetricsJS collects PageStats in the page, in milliseconds and bytes.
const pageMetricsJS = `(() => {
	const nav = performance.getEntriesByType('navigation')[0] || {};
	const res = performance.getEntriesByType('resource');
	const sum = k => res.reduce((a, r) => a + (r[k] || 0), nav[k] || 0);
	const paint = n => { const e = performance.getEntriesByName(n, 'paint')[0]; return e ? e.startTime : 0; };
	const marks = performance.getEntriesByName(` + "'" + RenderedMark + "'" + `, 'mark');
	const t = window.__appstackTimes || {page: null, rendered: [], longTasks: []};
	const b = document.body;
	return {transfer: sum('transferSize'), encoded: sum('encodedBodySize'), decoded: sum('decodedBodySize'),
		resources: res.length, firstPaint: paint('first-paint'), firstContentfulPaint: paint('first-contentful-paint'),
		domContentLoaded: nav.domContentLoadedEventEnd || 0, load: nav.loadEventEnd || 0, pageSet: t.page || 0,
		firstRender: marks.length ? marks[0].startTime : (t.rendered[0] || 0),
		renders: b ? parseInt(b.dataset.rendered || '0', 10) : 0,
		longTasks: t.longTasks.length, longestTask: Math.max(0, ...t.longTasks), origin: performance.timeOrigin};
})()`

// PageMetrics reads the current page's PageStats.
func PageMetrics(ctx context.Context) (PageStats, error) {
	var m struct {
		Transfer, Encoded, Decoded                   float64
		Resources                                    int
		FirstPaint, FirstContentfulPaint             float64
		DOMContentLoaded, Load, PageSet, FirstRender float64
		Renders, LongTasks                           int
		LongestTask, Origin                          float64
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](pageMetricsJS))
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		return PageStats{}, fmt.Errorf("reading the page's timings: %w", err)
	}
	ms := func(v float64) time.Duration { return time.Duration(math.Round(v * float64(time.Millisecond))) }
	return PageStats{TransferBytes: int64(m.Transfer), EncodedBodyBytes: int64(m.Encoded), DecodedBodyBytes: int64(m.Decoded),
		Resources: m.Resources, FirstPaint: ms(m.FirstPaint), FirstContentfulPaint: ms(m.FirstContentfulPaint),
		DOMContentLoaded: ms(m.DOMContentLoaded), Load: ms(m.Load), PageSet: ms(m.PageSet), FirstRender: ms(m.FirstRender),
		Renders: m.Renders, LongTasks: m.LongTasks, LongestTask: ms(m.LongestTask),
		Origin: time.UnixMicro(int64(math.Round(m.Origin * 1000)))}, nil
}

// String is the metrics in one line, as the tests print them.
func (m PageStats) String() string {
	return fmt.Sprintf("%s transferred in %d requests (%s of bodies, %s unpacked); first contentful paint %s, data-page set %s, "+
		"first render %s, load %s; %d draws; %d tasks over 50 ms, the longest %s",
		kB(m.TransferBytes), m.Resources+1, kB(m.EncodedBodyBytes), kB(m.DecodedBodyBytes), m.FirstContentfulPaint, m.PageSet,
		m.FirstRender, m.Load, m.Renders, m.LongTasks, m.LongestTask)
}

func kB(n int64) string { return fmt.Sprintf("%.1f kB", float64(n)/1000) }
