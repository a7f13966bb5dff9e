package main

// The -revisions mode (`make bench-revisions`): what one author's edits can make the
// operator hold. Every spec edit records a ControllerRevision holding the whole
// spec, and spec.revisionHistoryLimit (up to 100) keeps that many. This run starts
// the operator (a process, -manager, with the chart's GOMEMLIMIT) with a few stacks
// whose spec carries a config of -revisions-bytes, measures its RSS at rest, then
// edits every stack's spec -revisions times, waiting for each revision to be
// recorded, and measures again. Run it once with an older manager binary and once
// with the current one for the same figures under the same conditions.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/test/utils"
)

const (
	revisionsCluster = "appstack-revisions"
	// chartMemoryLimit is the chart's memory limit for the operator (values.yaml):
	// the run gives the process the GOMEMLIMIT the chart derives from it, and a
	// high-water mark above it would have been an OOMKill.
	chartMemoryLimit = 256 << 20
	// Target of -check: the steady RSS after the edits, over the steady RSS at rest.
	revisionsRSSRatio = 2.0
)

type revisionsResults struct {
	Machine map[string]string `json:"machine"`
	Manager string            `json:"manager"`
	Stacks  int               `json:"stacks"`
	Edits   int               `json:"editsPerStack"`
	Bytes   int               `json:"configBytes"`
	Limit   int32             `json:"revisionHistoryLimit"`
	Idle    rssFigures        `json:"idle"`
	// After is from the first edit to the end of the steady sample after the last.
	After       rssFigures `json:"afterEdits"`
	EditSeconds float64    `json:"editSeconds"`
	// Revision is the lowest status.revision of the stacks after the edits: each
	// edit recorded (edits+1 when all did).
	Revision int64    `json:"lowestRevision"`
	Exited   bool     `json:"operatorExited"`
	Failed   []string `json:"failed,omitempty"`
}

// runRevisions: nStacks stacks with a config of bytes and revisionHistoryLimit limit,
// each edited edits times, under the operator binary manager.
func runRevisions(ctx context.Context, root, out, manager string, nStacks, edits, bytes int, limit int32, check bool) {
	prefix := filepath.Join(out, "revisions-"+time.Now().UTC().Format("20060102-150405"))
	res := &revisionsResults{Machine: machine(root), Manager: manager, Stacks: nStacks, Edits: edits, Bytes: bytes, Limit: limit}
	if b, err := exec.Command(manager, "--version").Output(); err == nil {
		res.Manager += " (" + strings.TrimSpace(string(b)) + ")"
	}
	env := map[string]string{envNodes: "4", envPVPool: "4"}
	cluster, down := throwawayCluster(root, revisionsCluster, env)

	logf, err := os.Create(filepath.Join(root, "bin", revisionsCluster+".manager.log"))
	must(err)
	defer logf.Close()
	metricsAddr, pprofAddr = operatorAddrs()
	op := startOperator(manager, cluster.Kubeconfig, logf, []string{fmt.Sprintf("GOMEMLIMIT=%d", chartMemoryLimit)},
		"--metrics-bind-address="+metricsAddr, "--metrics-secure=false", "--health-probe-bind-address=0", "--pprof-bind-address="+pprofAddr)
	exited := op.Exited()
	alive := func() {
		select {
		case <-exited:
			must(fmt.Errorf("the operator exited; see bin/%s.manager.log", revisionsCluster))
		default:
		}
	}
	rss := utils.SampleRSS(op.Pid())

	// 1. At rest: the stacks Ready.
	step("operator %s with %d stacks of a %d-byte config, revisionHistoryLimit %d", manager, nStacks, bytes, limit)
	dc := newClient(cluster.Kubeconfig, uaDriver, 200, 400)
	stacks := revisionStacks(nStacks, bytes, limit)
	parallel(4, stacks, func(s *appstackv1.AppStack) { must(dc.Create(ctx, s)) })
	waitMetrics(alive)
	waitStacks(ctx, dc, "revisions", nStacks)
	step("%d stacks Ready; settling %s, then sampling RSS for %s", nStacks, settle, steadyWindow)
	res.Idle = sampleSteady(rss, settle, -1)
	<-profile("heap?gc=1", prefix+"-idle-heap.pprof")
	step("RSS at rest %.1f MiB", res.Idle.Steady)

	// 2. The edits: every stack's spec, one edit at a time, each waited for until
	// its revision is recorded (status.revision), as an author's edits would come.
	from := rss.Mark()
	t0 := time.Now()
	for e := 1; e <= edits; e++ {
		select {
		case <-exited:
			res.Exited = true
		default:
		}
		if res.Exited {
			break
		}
		parallel(nStacks, stacks, func(s *appstackv1.AppStack) { editStack(ctx, dc, s.Name, e) })
		if !waitRevision(ctx, dc, stacks, int64(e+1), exited) {
			res.Exited = true
			break
		}
		if e%10 == 0 {
			step("%d edits per stack; RSS %.1f MiB", e, rss.Latest())
		}
	}
	res.EditSeconds = time.Since(t0).Seconds()
	res.Revision = lowestRevision(ctx, dc, stacks)
	if !res.Exited {
		step("%d edits per stack in %.1f s; settling %s, then sampling RSS for %s", edits, res.EditSeconds, settle, steadyWindow)
		res.After = sampleSteady(rss, settle, from)
		<-profile("heap?gc=1", prefix+"-after-heap.pprof")
	} else {
		res.After = figures(rss, from, from)
	}
	rss.Stop()
	op.Stop(os.Kill)
	operator = nil

	revisionsVerdict(res, edits)
	revisionsReport(res, prefix)
	down()
	if check && len(res.Failed) > 0 {
		fmt.Fprintln(os.Stderr, "bench: "+strings.Join(res.Failed, "; "))
		os.Exit(1)
	}
}

// revisionStacks are the stacks of a revisions run: a config of bytes, the
// history limit, and the worker only — a component mounting the config would roll
// out at every edit, which measures the cluster, not the operator's memory.
func revisionStacks(n, bytes int, limit int32) []*appstackv1.AppStack {
	stacks := makeStacks("revisions", n)
	blob := strings.Repeat("x", bytes)
	for _, s := range stacks {
		s.Spec.RevisionHistoryLimit = ptr.To(limit)
		s.Spec.Configs = []appstackv1.Config{{Name: "big", Data: map[string]string{"edit": "0", "blob": blob}}}
		s.Spec.Volumes = nil
		s.Spec.Components = s.Spec.Components[1:2]
	}
	return stacks
}

// revisionsVerdict records in res the targets the run missed.
func revisionsVerdict(res *revisionsResults, edits int) {
	if res.Exited {
		res.Failed = append(res.Failed, "the operator exited during the edits")
	}
	if r := res.After.Steady / res.Idle.Steady; !(r <= revisionsRSSRatio) {
		res.Failed = append(res.Failed, fmt.Sprintf("steady RSS after the edits %.1f MiB, %.2f× the RSS at rest, want ≤ %.1f×",
			res.After.Steady, r, revisionsRSSRatio))
	}
	if res.After.HWM > chartMemoryLimit>>20 {
		res.Failed = append(res.Failed, fmt.Sprintf("high-water mark %.1f MiB, over the chart's limit of %d MiB: an OOMKill",
			res.After.HWM, chartMemoryLimit>>20))
	}
	if res.Revision < int64(edits+1) {
		res.Failed = append(res.Failed, fmt.Sprintf("a stack recorded only revision %d of %d", res.Revision, edits+1))
	}
}

// editStack changes the stack's spec: the config's edit key.
func editStack(ctx context.Context, c client.Client, name string, edit int) {
	for {
		s := &appstackv1.AppStack{}
		must(c.Get(ctx, client.ObjectKey{Name: name}, s))
		s.Spec.Configs[0].Data["edit"] = fmt.Sprint(edit)
		err := c.Update(ctx, s)
		if !apierrors.IsConflict(err) {
			must(err)
			return
		}
	}
}

// waitRevision waits until every stack records revision n, or the operator exits
// (false).
func waitRevision(ctx context.Context, c client.Client, stacks []*appstackv1.AppStack, n int64, exited <-chan struct{}) bool {
	deadline := time.Now().Add(waitTimeout)
	for lowestRevision(ctx, c, stacks) < n {
		select {
		case <-exited:
			return false
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			must(fmt.Errorf("revision %d not recorded after %s", n, waitTimeout))
		}
	}
	return true
}

func lowestRevision(ctx context.Context, c client.Client, stacks []*appstackv1.AppStack) int64 {
	low := int64(-1)
	for _, s := range stacks {
		st := &appstackv1.AppStack{}
		if err := c.Get(ctx, client.ObjectKey{Name: s.Name}, st); err != nil {
			return 0
		}
		if low < 0 || st.Status.Revision < low {
			low = st.Status.Revision
		}
	}
	return low
}

func revisionsReport(r *revisionsResults, prefix string) {
	var md strings.Builder
	ratio := func(v float64) string { return fmt.Sprintf("%.2f×", v/r.Idle.Steady) }
	fmt.Fprintf(&md, "operator %s, GOMEMLIMIT %d MiB; %d stacks of a %d-byte config, revisionHistoryLimit %d, %d spec edits each; %s cores, %s, %s, commit %s\n\n",
		r.Manager, chartMemoryLimit>>20, r.Stacks, r.Bytes, r.Limit, r.Edits, r.Machine["cores"], r.Machine["kubernetes"], r.Machine["go"], r.Machine["commit"])
	fmt.Fprintf(&md, "| measure | value | ratio to rest | target |\n| --- | --- | --- | --- |\n")
	fmt.Fprintf(&md, "| RSS at rest, stacks Ready (median of %s) | %.1f MiB | 1 | |\n", steadyWindow, r.Idle.Steady)
	fmt.Fprintf(&md, "| RSS during the edits (%.1f s): peak | %.1f MiB | %s | |\n", r.EditSeconds, r.After.Peak, ratio(r.After.Peak))
	fmt.Fprintf(&md, "| high-water mark of the process | %.1f MiB | %s | < %d MiB (the chart's limit) |\n", r.After.HWM, ratio(r.After.HWM), chartMemoryLimit>>20)
	fmt.Fprintf(&md, "| RSS after the edits, steady | %.1f MiB | %s | ≤ %.1f× |\n", r.After.Steady, ratio(r.After.Steady), revisionsRSSRatio)
	fmt.Fprintf(&md, "| lowest status.revision after the edits | %d | | %d |\n", r.Revision, r.Edits+1)
	if g := r.After.Go; g != nil {
		fmt.Fprintf(&md, "| Go heap in use after the edits (at rest) | %.1f MiB (%.1f MiB) | | |\n", g["heapInuse"], r.Idle.Go["heapInuse"])
	}
	if r.Exited {
		fmt.Fprintf(&md, "\nThe operator exited during the edits (bin/%s.manager.log).\n", revisionsCluster)
	}
	if len(r.Failed) > 0 {
		fmt.Fprintf(&md, "\nFailed: %s\n", strings.Join(r.Failed, "; "))
	}
	writeResults(prefix, r, md.String())
}
