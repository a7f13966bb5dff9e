package main

// The -foreign mode (`make bench-foreign`): what others can make the operator hold.
// The cache keeps every object labelled app.kubernetes.io/managed-by=appstack-operator,
// and anyone who may create a ConfigMap may so label it. This run starts the operator
// with a few ordinary stacks, measures its RSS and reconcile count at rest, then
// creates, in a namespace no stack owns, many large ConfigMaps labelled exactly like
// a stack's children, and measures again: while they are created, once they are
// there, and after a restart of the operator with them present.

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/test/utils"
)

const (
	// foreignCluster is its own, so that the run can go beside `make bench`.
	foreignCluster   = "appstack-foreign"
	foreignNamespace = "unrelated"
	// settle is how long the operator is left alone before each steady sample;
	// steadyWindow how long the samples whose median is the steady RSS are taken over.
	settle       = 10 * time.Second
	steadyWindow = 20 * time.Second
	// Targets of -check.
	foreignRSSRatio   = 1.10
	foreignReconciles = 20
)

type foreignResults struct {
	Machine map[string]string `json:"machine"`
	Stacks  int               `json:"stacks"`
	Foreign int               `json:"foreignConfigMaps"`
	Bytes   int               `json:"bytesPerConfigMap"`
	// Owner: each ConfigMap also names a stack as its controller, by a made-up UID.
	Owner    bool       `json:"madeUpOwnerReference"`
	Wait     string     `json:"wait"`
	Baseline rssFigures `json:"baseline"`
	// After is from the first create to Wait after the last.
	After        rssFigures `json:"afterCreation"`
	CreateSecond float64    `json:"creationSeconds"`
	// Reconciles and QueueAdds are the appstack controller's counters' increase over
	// After's window; Writes the operator's write requests then (audit log).
	Reconciles float64 `json:"reconcilesDuringCreation"`
	QueueAdds  float64 `json:"workQueueAddsDuringCreation"`
	Writes     int     `json:"operatorWritesDuringCreation"`
	// Restart is a new process with the ConfigMaps present; its reconciles until
	// every stack was reconciled again and the queue was empty, and how long it took.
	Restart           rssFigures `json:"afterRestart"`
	RestartReconciles float64    `json:"restartReconciles"`
	RestartSeconds    float64    `json:"restartSecondsToReconciled"`
	Failed            []string   `json:"failed,omitempty"`
}

// rssFigures are MiB: the largest 1-s sample of the window, the kernel's high-water
// mark of the process (VmHWM, over its whole life), and the median of steadyWindow
// of samples at its end, in all and split into anonymous memory (the Go heap,
// stacks) and file pages (mostly the binary's). Go is the Go runtime's own account
// at the end of the window, from the metrics page: heap in use, heap free but not
// yet returned to the system, heap returned, all the runtime has mapped, the bytes
// of allocated objects (live and not yet collected) and the next collection's goal.
type rssFigures struct {
	Peak       float64            `json:"peakMiB"`
	HWM        float64            `json:"highWaterMarkMiB"`
	Steady     float64            `json:"steadyMiB"`
	SteadyAnon float64            `json:"steadyAnonMiB"`
	SteadyFile float64            `json:"steadyFileMiB"`
	Go         map[string]float64 `json:"goMemstatsMiB,omitempty"`
}

// goMemory is the Go runtime's account of the operator's memory, in MiB.
func goMemory() map[string]float64 {
	page := operatorMetrics() // one snapshot
	val := func(metric string) float64 {
		for _, m := range utils.Samples(page, metric) {
			if m.Labels == "" {
				return m.Value / (1 << 20)
			}
		}
		return math.NaN()
	}
	idle, released := val("go_memstats_heap_idle_bytes"), val("go_memstats_heap_released_bytes")
	return map[string]float64{"heapInuse": val("go_memstats_heap_inuse_bytes"), "heapFreeKept": idle - released,
		"heapReleased": released, "sys": val("go_memstats_sys_bytes"), "heapAlloc": val("go_memstats_heap_alloc_bytes"),
		"nextGC": val("go_memstats_next_gc_bytes")}
}

// runForeign: nStacks ordinary stacks, then nForeign ConfigMaps of bytes each, left
// to the operator for wait once created; with owner, each names a stack as its
// controller by a made-up UID (the cluster's garbage collector deletes such
// objects once it has looked their owner up, so the peak is the figure to read).
func runForeign(ctx context.Context, root, out, manager string, nStacks, nForeign, bytes int, wait time.Duration, owner, check bool) {
	prefix := filepath.Join(out, "foreign-"+time.Now().UTC().Format("20060102-150405"))
	res := &foreignResults{Machine: machine(root), Stacks: nStacks, Foreign: nForeign, Bytes: bytes, Wait: wait.String(), Owner: owner}

	// The ConfigMaps are nForeign×bytes in etcd: the cluster goes whatever happens.
	env := map[string]string{envNodes: fmt.Sprint(nStacks*8/100 + 4), envPVPool: fmt.Sprint(nStacks + 20), "PV_SIZES": "1Gi"}
	cluster, down := throwawayCluster(root, foreignCluster, env)
	logf, err := os.Create(filepath.Join(root, "bin", foreignCluster+".manager.log"))
	must(err)
	defer logf.Close()
	run := &foreignOperator{manager: manager, kubeconfig: cluster.Kubeconfig, log: logf}
	alive, start, stop := run.alive, run.start, run.stop

	// 1. baseline: nStacks ordinary stacks, Ready, at rest.
	step("operator with %d stacks", nStacks)
	op, rss := start()
	dc := newClient(cluster.Kubeconfig, uaDriver, 200, 400)
	stacks := makeStacks("foreign", nStacks)
	parallel(8, stacks, func(s *appstackv1.AppStack) { must(dc.Create(ctx, s)) })
	waitMetrics(alive)
	waitStacks(ctx, dc, "foreign", nStacks)
	step("%d stacks Ready; settling %s, then sampling RSS for %s", nStacks, settle, steadyWindow)
	res.Baseline = sampleSteady(rss, settle, -1)
	<-profile("heap?gc=1", prefix+"-baseline-heap.pprof")
	step("baseline RSS %.1f MiB", res.Baseline.Steady)

	// 2. nForeign ConfigMaps labelled like the stacks' children, in a namespace no
	// stack owns.
	reconciles, adds := counter("controller_runtime_reconcile_total"), counter("workqueue_adds_total")
	windowStart := time.Now()
	from := rss.Mark()
	createLookalikes(ctx, dc, stacks, nForeign, bytes, owner)
	res.CreateSecond = time.Since(windowStart).Seconds()
	step("created in %.1f s; leaving them to the operator for %s", res.CreateSecond, wait)
	res.After = sampleSteady(rss, wait-steadyWindow, from)
	res.Reconciles = counter("controller_runtime_reconcile_total") - reconciles
	res.QueueAdds = counter("workqueue_adds_total") - adds
	res.Writes = int(perStack(cluster.AuditLog(), uaOperator, windowStart, time.Now(), 1).writes)
	<-profile("heap?gc=1", prefix+"-after-heap.pprof")
	rss.Stop()
	step("after: peak %.1f MiB, steady %.1f MiB; %.0f reconciles, %.0f queue adds, %d writes", res.After.Peak, res.After.Steady,
		res.Reconciles, res.QueueAdds, res.Writes)

	// 3. a restart with the ConfigMaps present.
	step("restarting the operator")
	stop(op)
	t0 := time.Now()
	op, rss = start()
	from = rss.Mark()
	waitMetrics(alive)
	waitUntil("every stack reconciled again after the restart", func() bool {
		alive()
		return counter("controller_runtime_reconcile_total") >= float64(nStacks) && gauge("workqueue_depth") == 0
	})
	res.RestartSeconds = time.Since(t0).Seconds()
	waitStacks(ctx, dc, "foreign", nStacks)
	step("every stack reconciled again %.1f s after the start; settling %s, then sampling RSS for %s", res.RestartSeconds, settle, steadyWindow)
	res.Restart = sampleSteady(rss, settle, from)
	res.RestartReconciles = counter("controller_runtime_reconcile_total")
	<-profile("heap?gc=1", prefix+"-restart-heap.pprof")
	rss.Stop()
	stop(op)

	foreignVerdict(res)
	foreignReport(res, prefix)
	down()
	if check && len(res.Failed) > 0 {
		fmt.Fprintln(os.Stderr, "bench: "+strings.Join(res.Failed, "; "))
		os.Exit(1)
	}
}

// foreignOperator is the operator's process of a foreign run, and a channel
// closed when it has exited: a run whose operator dies (e.g. a port taken) fails
// at once, naming its log.
type foreignOperator struct {
	manager, kubeconfig string
	log                 *os.File
	exited              <-chan struct{}
}

func (o *foreignOperator) alive() {
	select {
	case <-o.exited:
		must(fmt.Errorf("the operator exited; see bin/%s.manager.log", foreignCluster))
	default:
	}
}

func (o *foreignOperator) start() (*utils.Manager, *utils.RSS) {
	metricsAddr, pprofAddr = operatorAddrs()
	op := startOperator(o.manager, o.kubeconfig, o.log, nil,
		"--metrics-bind-address="+metricsAddr, "--metrics-secure=false", "--health-probe-bind-address=0",
		"--pprof-bind-address="+pprofAddr)
	o.exited = op.Exited()
	return op, utils.SampleRSS(op.Pid())
}

func (o *foreignOperator) stop(op *utils.Manager) {
	o.exited = nil // a nil channel never answers alive's select
	op.Stop(os.Kill)
	operator = nil
}

// createLookalikes creates, in a namespace no stack owns, n ConfigMaps of bytes
// labelled like the stacks' web components; with owner, each also names one of
// the stacks as its controller by a UID of nobody's.
func createLookalikes(ctx context.Context, dc client.Client, stacks []*appstackv1.AppStack, n, bytes int, owner bool) {
	must(dc.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: foreignNamespace}}))
	step("creating %d ConfigMaps of %d bytes in namespace %s, labelled like the stacks' web components", n, bytes, foreignNamespace)
	blob := strings.Repeat("x", bytes)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	parallel(8, idx, func(i int) {
		stack := stacks[i%len(stacks)].Name
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("lookalike-%03d", i), Namespace: foreignNamespace, Labels: map[string]string{
				render.LabelManagedBy: render.ManagedBy, render.LabelInstance: stack,
				render.LabelStack: stack, render.LabelComponent: webComponent}},
			Data: map[string]string{"blob": blob},
		}
		if owner {
			cm.OwnerReferences = []metav1.OwnerReference{{APIVersion: appstackv1.GroupVersion.String(), Kind: "AppStack",
				Name: stack, UID: uuid.NewUUID(), Controller: ptr.To(true)}}
		}
		must(dc.Create(ctx, cm))
	})
}

// foreignVerdict records in res the targets the run missed.
func foreignVerdict(res *foreignResults) {
	b := res.Baseline.Steady
	if r := res.After.Steady / b; r > foreignRSSRatio {
		res.Failed = append(res.Failed, fmt.Sprintf("steady RSS with the ConfigMaps %.1f MiB, %.2f× baseline, want ≤ %.2f×", res.After.Steady, r, foreignRSSRatio))
	}
	if r := res.Restart.Steady / b; r > foreignRSSRatio {
		res.Failed = append(res.Failed, fmt.Sprintf("steady RSS after a restart %.1f MiB, %.2f× baseline, want ≤ %.2f×", res.Restart.Steady, r, foreignRSSRatio))
	}
	if res.Reconciles > foreignReconciles {
		res.Failed = append(res.Failed, fmt.Sprintf("%.0f reconciles while the ConfigMaps were created, want ≤ %d", res.Reconciles, foreignReconciles))
	}
}

// operatorAddrs are the operator's metrics and pprof addresses: loopback ports
// free at the time of the call, so that the run can go beside another harness's
// operator.
func operatorAddrs() (metrics, pprof string) {
	addrs, err := utils.FreeAddrs(2)
	must(err)
	return addrs[0], addrs[1]
}

// waitMetrics waits until the operator's metrics page answers.
func waitMetrics(alive func()) {
	waitUntil("the operator's metrics page", func() bool {
		alive()
		_, err := utils.Scrape(metricsAddr)
		return err == nil
	})
}

// counter sums a metric's series of the appstack controller (label controller= or
// name=) on the operator's metrics page.
func counter(metric string) float64 {
	var sum float64
	for _, m := range utils.Samples(operatorMetrics(), metric) {
		if strings.Contains(m.Labels, `controller="appstack"`) || strings.Contains(m.Labels, `name="appstack"`) {
			sum += m.Value
		}
	}
	return sum
}

func gauge(metric string) float64 { return counter(metric) }

// figures are the rssFigures of the samples of s: the peak from peakFrom on, the
// medians from steadyFrom on.
func figures(s *utils.RSS, peakFrom, steadyFrom int) rssFigures {
	steady := s.Median(steadyFrom)
	return rssFigures{Peak: s.Peak(peakFrom), HWM: s.HWM(), Steady: steady.Total, SteadyAnon: steady.Anon, SteadyFile: steady.File,
		Go: goMemory()}
}

// sampleSteady leaves the operator alone for wait, then samples its RSS for
// steadyWindow: the figures of those samples, with the peak of the samples from
// peakFrom on (-1: of those samples only).
func sampleSteady(s *utils.RSS, wait time.Duration, peakFrom int) rssFigures {
	time.Sleep(wait)
	steadyFrom := s.Mark()
	time.Sleep(steadyWindow)
	if peakFrom < 0 {
		peakFrom = steadyFrom
	}
	return figures(s, peakFrom, steadyFrom)
}

func foreignReport(r *foreignResults, prefix string) {
	var md strings.Builder
	ratio := func(v float64) string { return fmt.Sprintf("%.2f×", v/r.Baseline.Steady) }
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	how := "labelled like their `web` children"
	if r.Owner {
		how += " and naming a stack as controller by a made-up UID"
	}
	fmt.Fprintf(&md, "%d stacks; %d ConfigMaps of %d bytes in namespace %s %s; %s cores, %s, %s, commit %s\n\n",
		r.Stacks, r.Foreign, r.Bytes, foreignNamespace, how, r.Machine["cores"], r.Machine["kubernetes"], r.Machine["go"], r.Machine["commit"])
	fmt.Fprintf(&md, "| measure | value | ratio to baseline | target | met |\n| --- | --- | --- | --- | --- |\n")
	fmt.Fprintf(&md, "| RSS at rest, %d stacks Ready (median of %s) | %.1f MiB | 1 | | |\n", r.Stacks, steadyWindow, r.Baseline.Steady)
	fmt.Fprintf(&md, "| RSS while the ConfigMaps are created (%.1f s) and %s after: peak | %.1f MiB | %s | | |\n", r.CreateSecond, r.Wait, r.After.Peak, ratio(r.After.Peak))
	fmt.Fprintf(&md, "| … then steady (median of the last %s) | %.1f MiB | %s | ≤ %.2f× | %s |\n", steadyWindow, r.After.Steady, ratio(r.After.Steady),
		foreignRSSRatio, yes(r.After.Steady/r.Baseline.Steady <= foreignRSSRatio))
	fmt.Fprintf(&md, "| reconciles / work-queue adds / operator writes over that window | %.0f / %.0f / %d | | reconciles ≤ %d | %s |\n",
		r.Reconciles, r.QueueAdds, r.Writes, foreignReconciles, yes(r.Reconciles <= foreignReconciles))
	fmt.Fprintf(&md, "| after a restart with the ConfigMaps present: peak (high-water mark) | %.1f MiB (%.1f MiB) | %s (%s) | | |\n",
		r.Restart.Peak, r.Restart.HWM, ratio(r.Restart.Peak), ratio(r.Restart.HWM))
	fmt.Fprintf(&md, "| … then steady | %.1f MiB | %s | ≤ %.2f× | %s |\n", r.Restart.Steady, ratio(r.Restart.Steady),
		foreignRSSRatio, yes(r.Restart.Steady/r.Baseline.Steady <= foreignRSSRatio))
	fmt.Fprintf(&md, "| after the restart: every stack reconciled again, queue empty | %.1f s, %.0f reconciles | | | |\n", r.RestartSeconds, r.RestartReconciles)
	fmt.Fprintf(&md, "\nWhere the steady RSS is (MiB): anonymous + file pages (/proc); the Go runtime's heap in use, heap free but kept, heap returned, all it mapped, objects allocated (live and not yet collected), the next collection's goal (metrics page):\n\n")
	fmt.Fprintf(&md, "| | RSS | anonymous | file | heap in use | heap free, kept | heap returned | Go sys | allocated | GC goal |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, row := range []struct {
		name string
		f    rssFigures
	}{{"at rest", r.Baseline}, {"with the ConfigMaps", r.After}, {"after the restart", r.Restart}} {
		g := row.f.Go
		fmt.Fprintf(&md, "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", row.name, row.f.Steady, row.f.SteadyAnon, row.f.SteadyFile,
			g["heapInuse"], g["heapFreeKept"], g["heapReleased"], g["sys"], g["heapAlloc"], g["nextGC"])
	}
	for _, p := range []struct{ name, file string }{
		{"at rest", "-baseline-heap.pprof"}, {"with the ConfigMaps", "-after-heap.pprof"}, {"after the restart", "-restart-heap.pprof"},
	} {
		out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=12", "-sample_index=inuse_space", prefix+p.file).Output()
		if err != nil {
			continue
		}
		fmt.Fprintf(&md, "\nHeap in use %s (`go tool pprof -top -nodecount=12 -sample_index=inuse_space %s`):\n\n```\n%s```\n", p.name, filepath.Base(prefix+p.file), out)
	}
	if len(r.Failed) > 0 {
		fmt.Fprintf(&md, "\nFailed: %s\n", strings.Join(r.Failed, "; "))
	}
	writeResults(prefix, r, md.String())
}

// throwawayCluster starts a fresh local cluster of its own (env names it) for one
// measurement, deleted when the harness exits, interrupted or not, and returns its
// kubeconfig and the function that deletes it.
func throwawayCluster(root, name string, env map[string]string) (utils.Cluster, func()) {
	cluster := utils.NewCluster(root, name, os.Stdout)
	down := func() {
		step("deleting cluster %s", name)
		if _, err := cluster.DevCluster(envVars(env), "down"); err != nil {
			fmt.Fprintln(os.Stderr, "bench: cluster teardown:", err)
		}
	}
	atExit = append(atExit, down)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "bench: interrupted")
		exit(1)
	}()
	freshCluster(cluster, env)
	return cluster, down
}
