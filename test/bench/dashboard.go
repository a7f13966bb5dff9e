package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/test/utils"
)

// The -dashboard phase: `kubectl appstack dashboard` (bin/kubectl-appstack, as a
// user runs it) over the N converged stacks, its stacks page in headless
// Chromium (test/utils/browser.go, the DOM of docs/dashboard.md).

// dashboardResult is what the phase measured, in seconds since the navigation
// to the stacks page started unless said otherwise.
type dashboardResult struct {
	// FirstRender is the page's first draw; AllRows when all N rows were in
	// the DOM.
	FirstRender float64 `json:"firstRenderSeconds"`
	AllRows     float64 `json:"allRowsSeconds"`
	// TransferBytes and DecodedBytes are the page's weight up to then: the
	// document, its assets and the API reads, as sent and unpacked.
	TransferBytes int64 `json:"transferBytes"`
	DecodedBytes  int64 `json:"decodedBodyBytes"`
	Requests      int   `json:"requests"`
	// LongTasks held the page's main thread over 50 ms, the longest for
	// LongestTask seconds, over the whole phase: the page stalled.
	LongTasks   int     `json:"longTasks"`
	LongestTask float64 `json:"longestTaskSeconds"`
	// Filter is from a stack's name filled into #filter to its row alone shown;
	// Unfilter from the filter cleared to all N rows shown again.
	Filter   float64 `json:"filterSeconds"`
	Unfilter float64 `json:"unfilterSeconds"`
	// RowUpdate is from an AppStack change (spec.paused set) to its row's health
	// changing on the page, the dashboard's watch and the page's redraw;
	// Suspended to the row showing the operator's status, Suspended.
	RowUpdate float64 `json:"rowUpdateSeconds"`
	Suspended float64 `json:"suspendedSeconds"`
	// PeakRSS is the dashboard process's, in MiB.
	PeakRSS float64 `json:"dashboardPeakRSSMiB"`
}

// dashboardPhase measures the dashboard over the n stacks named prefix-NNN, all
// Ready, with dc to change one of them.
func dashboardPhase(ctx context.Context, root, kubeconfig string, dc client.Client, prefix string, n int) *dashboardResult {
	step("dashboard: kubectl appstack dashboard and its stacks page of %d stacks in headless Chromium", n)
	logf, err := os.Create(filepath.Join(root, "bin", clusterName+".dashboard.log"))
	must(err)
	d, err := utils.StartDashboard(logf, time.Minute, filepath.Join(root, "bin", "kubectl-appstack"),
		"dashboard", "--kubeconfig", kubeconfig, "--port", "0")
	must(err)
	atExit = append(atExit, func() { _ = d.Stop() })
	rss := utils.SampleRSS(d.Pid())
	b, err := utils.StartBrowser(ctx, utils.BrowserOptions{Width: 1366, Height: 900})
	must(err)
	atExit = append(atExit, b.Close)
	tab := b.Context()

	res := &dashboardResult{}
	rows := fmt.Sprintf(`tr[data-stack^=%q]`, prefix+"-")
	must(utils.Open(tab, strings.TrimSuffix(d.URL, "/")+"/#/"))
	all := seen(utils.WaitCount(within(tab), rows, n))
	m, err := utils.PageMetrics(tab)
	must(err)
	res.FirstRender, res.AllRows = m.FirstRender.Seconds(), all.At.Sub(m.Origin).Seconds()
	res.TransferBytes, res.DecodedBytes, res.Requests = m.TransferBytes, m.DecodedBodyBytes, m.Resources+1
	step("dashboard: first render %.2f s, all %d rows %.2f s after navigating; %s", res.FirstRender, n, res.AllRows, m)

	one := fmt.Sprintf("%s-%03d", prefix, n/2)
	filled, err := utils.Fill(tab, "#filter", one)
	must(err)
	res.Filter = seen(utils.WaitShown(within(tab), rows, 1)).At.Sub(filled).Seconds()
	cleared, err := utils.Fill(tab, "#filter", "")
	must(err)
	res.Unfilter = seen(utils.WaitShown(within(tab), rows, n)).At.Sub(cleared).Seconds()
	step("dashboard: the filter showed %s alone after %.3f s, all %d rows again %.3f s after it was cleared", one, res.Filter, n, res.Unfilter)

	res.RowUpdate, res.Suspended = rowUpdate(ctx, tab, dc, fmt.Sprintf("%s-%03d", prefix, n-1))
	step("dashboard: spec.paused set on a stack; its row changed after %.3f s, said Suspended after %.3f s", res.RowUpdate, res.Suspended)

	if m, err = utils.PageMetrics(tab); err == nil {
		res.LongTasks, res.LongestTask = m.LongTasks, m.LongestTask.Seconds()
	}
	must(utils.CheckPageErrors(tab))
	rss.Stop()
	res.PeakRSS = rss.Peak(0)
	b.Close()
	must(d.Stop())
	return res
}

// rowUpdate pauses stack name and times its row on the page: until its health
// is no longer Ready (the dashboard saw the change), and until it is Suspended
// (the operator's status); then it resumes the stack.
func rowUpdate(ctx, tab context.Context, dc client.Client, name string) (changed, suspended float64) {
	row := fmt.Sprintf(`tr[data-stack=%q]`, name)
	seen(utils.WaitAttr(within(tab), row, "data-health", "Ready"))
	type result struct {
		seen utils.Seen
		err  error
	}
	first := make(chan result, 1)
	wctx := within(tab)
	go func() {
		s, err := utils.WaitAttrChange(wctx, row, "data-health", "Ready")
		first <- result{s, err}
	}()
	// Give the wait the time to be watching the page before the change: a wait
	// that starts after it would time the change late.
	time.Sleep(100 * time.Millisecond)
	patched := time.Now()
	must(pause(ctx, dc, name, true))
	r := <-first
	must(r.err)
	changed = r.seen.At.Sub(patched).Seconds()
	suspended = seen(utils.WaitAttr(within(tab), row, "data-health", "Suspended")).At.Sub(patched).Seconds()
	must(pause(ctx, dc, name, false))
	seen(utils.WaitAttr(within(tab), row, "data-health", "Ready"))
	return changed, suspended
}

func pause(ctx context.Context, dc client.Client, name string, paused bool) error {
	st := &appstackv1.AppStack{}
	st.Name = name
	patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"spec":{"paused":%t}}`, paused))
	if err := dc.Patch(ctx, st, patch); err != nil {
		return fmt.Errorf("set spec.paused=%t on stack %s: %w", paused, name, err)
	}
	return nil
}

// within is the tab, for one wait of the phase: waitTimeout at the most.
func within(tab context.Context) context.Context {
	ctx, cancel := context.WithTimeout(tab, waitTimeout)
	atExit = append(atExit, cancel)
	return ctx
}

// seen is a wait's result; a failed wait fails the run, saying what the page
// showed.
func seen(s utils.Seen, err error) utils.Seen {
	must(err)
	return s
}

// dashboardReport is the phase's table, under the run's.
func dashboardReport(r *dashboardResult, n int) string {
	var md strings.Builder
	fmt.Fprintf(&md, "\nDashboard: `kubectl appstack dashboard` over the %d stacks, its stacks page in headless Chromium 1366×900\n\n", n)
	fmt.Fprintf(&md, "| measure | dashboard | target |\n| --- | --- | --- |\n")
	fmt.Fprintf(&md, "| first render / all %d rows in the DOM, from navigating | %.2f s / %.2f s | under 1 s |\n", n, r.FirstRender, r.AllRows)
	fmt.Fprintf(&md, "| page weight then (document, assets, API reads) | %.1f kB in %d requests (%.1f kB unpacked) | |\n",
		float64(r.TransferBytes)/1000, r.Requests, float64(r.DecodedBytes)/1000)
	fmt.Fprintf(&md, "| filter: one stack's name → its row alone / cleared → all rows | %.3f s / %.3f s | |\n", r.Filter, r.Unfilter)
	fmt.Fprintf(&md, "| AppStack change → its row changes (→ Suspended, by the operator) | %.3f s (%.3f s) | ≤ 2 s |\n", r.RowUpdate, r.Suspended)
	fmt.Fprintf(&md, "| main-thread tasks over 50 ms, the longest | %d, %.3f s | |\n", r.LongTasks, r.LongestTask)
	fmt.Fprintf(&md, "| dashboard peak RSS | %.0f MiB | |\n", r.PeakRSS)
	return md.String()
}
