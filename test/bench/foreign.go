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
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
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
	page := strings.Split(operatorMetrics(), "\n") // one snapshot
	val := func(metric string) float64 {
		for _, l := range page {
			if f := strings.Fields(l); len(f) == 2 && f[0] == metric {
				v, _ := strconv.ParseFloat(f[1], 64)
				return v / (1 << 20)
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
	env := map[string]string{envClusterName: foreignCluster, envNodes: fmt.Sprint(nStacks*8/100 + 4), envPVPool: fmt.Sprint(nStacks + 20),
		"PV_SIZES": "1Gi"}
	kubeconfig, down := throwawayCluster(root, foreignCluster, env)
	logf, err := os.Create(filepath.Join(root, "bin", foreignCluster+".manager.log"))
	must(err)
	defer logf.Close()
	// The operator's process, and a channel closed when it has exited: a run whose
	// operator dies (e.g. a port taken) fails at once, naming its log.
	var exited chan struct{}
	alive := func() {
		select {
		case <-exited:
			must(fmt.Errorf("the operator exited; see bin/%s.manager.log", foreignCluster))
		default:
		}
	}
	start := func() (*exec.Cmd, *rssSeries) {
		metricsAddr, pprofAddr = freeAddr(), freeAddr()
		op := exec.Command(manager,
			"--metrics-bind-address="+metricsAddr, "--metrics-secure=false", "--health-probe-bind-address=0",
			"--pprof-bind-address="+pprofAddr)
		op.Stdout, op.Stderr = logf, logf
		op.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
		must(op.Start())
		operator = op
		exited = make(chan struct{})
		go func(done chan struct{}) { _ = op.Wait(); close(done) }(exited)
		return op, newRSSSeries(op.Process.Pid)
	}
	stop := func(op *exec.Cmd) {
		done := exited
		exited = nil // a nil channel never answers alive's select
		_ = op.Process.Kill()
		<-done
		operator = nil
	}

	// 1. baseline: nStacks ordinary stacks, Ready, at rest.
	step("operator with %d stacks", nStacks)
	op, rss := start()
	dc := newClient(kubeconfig, uaDriver, 200, 400)
	stacks := makeStacks("foreign", nStacks)
	parallel(8, stacks, func(s *appstackv1.AppStack) { must(dc.Create(ctx, s)) })
	waitMetrics(alive)
	waitStacks(ctx, dc, "foreign", nStacks)
	step("%d stacks Ready; settling %s, then sampling RSS for %s", nStacks, settle, steadyWindow)
	time.Sleep(settle)
	from := rss.mark()
	time.Sleep(steadyWindow)
	res.Baseline = rss.figures(from, from)
	<-profile("heap?gc=1", prefix+"-baseline-heap.pprof")
	step("baseline RSS %.1f MiB", res.Baseline.Steady)

	// 2. nForeign ConfigMaps labelled like the stacks' children, in a namespace no
	// stack owns.
	reconciles, adds := counter("controller_runtime_reconcile_total"), counter("workqueue_adds_total")
	windowStart := time.Now()
	from = rss.mark()
	must(dc.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: foreignNamespace}}))
	step("creating %d ConfigMaps of %d bytes in namespace %s, labelled like the stacks' web components", nForeign, bytes, foreignNamespace)
	blob := strings.Repeat("x", bytes)
	idx := make([]int, nForeign)
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
			// The stack's kind and name as controller, with a UID of nobody's.
			cm.OwnerReferences = []metav1.OwnerReference{{APIVersion: appstackv1.GroupVersion.String(), Kind: "AppStack",
				Name: stack, UID: uuid.NewUUID(), Controller: ptr.To(true)}}
		}
		must(dc.Create(ctx, cm))
	})
	res.CreateSecond = time.Since(windowStart).Seconds()
	step("created in %.1f s; leaving them to the operator for %s", res.CreateSecond, wait)
	time.Sleep(wait - steadyWindow)
	steadyFrom := rss.mark()
	time.Sleep(steadyWindow)
	res.After = rss.figures(from, steadyFrom)
	res.Reconciles = counter("controller_runtime_reconcile_total") - reconciles
	res.QueueAdds = counter("workqueue_adds_total") - adds
	res.Writes = int(perStack(filepath.Join(os.Getenv("HOME"), ".kwok", "clusters", foreignCluster, "logs", "audit.log"),
		uaOperator, windowStart, time.Now(), 1).writes)
	<-profile("heap?gc=1", prefix+"-after-heap.pprof")
	rss.stop()
	step("after: peak %.1f MiB, steady %.1f MiB; %.0f reconciles, %.0f queue adds, %d writes", res.After.Peak, res.After.Steady,
		res.Reconciles, res.QueueAdds, res.Writes)

	// 3. a restart with the ConfigMaps present.
	step("restarting the operator")
	stop(op)
	t0 := time.Now()
	op, rss = start()
	from = rss.mark()
	waitMetrics(alive)
	waitUntil("every stack reconciled again after the restart", func() bool {
		alive()
		return counter("controller_runtime_reconcile_total") >= float64(nStacks) && gauge("workqueue_depth") == 0
	})
	res.RestartSeconds = time.Since(t0).Seconds()
	waitStacks(ctx, dc, "foreign", nStacks)
	step("every stack reconciled again %.1f s after the start; settling %s, then sampling RSS for %s", res.RestartSeconds, settle, steadyWindow)
	time.Sleep(settle)
	steadyFrom = rss.mark()
	time.Sleep(steadyWindow)
	res.Restart = rss.figures(from, steadyFrom)
	res.RestartReconciles = counter("controller_runtime_reconcile_total")
	<-profile("heap?gc=1", prefix+"-restart-heap.pprof")
	rss.stop()
	stop(op)

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
	foreignReport(res, prefix)
	down()
	if check && len(res.Failed) > 0 {
		fmt.Fprintln(os.Stderr, "bench: "+strings.Join(res.Failed, "; "))
		os.Exit(1)
	}
}

// freeAddr is a loopback address with a port free at the time of the call (the
// operator's own, so that the run can go beside another harness's operator).
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	defer l.Close()
	return l.Addr().String()
}

// waitMetrics waits until the operator's metrics page answers.
func waitMetrics(alive func()) {
	waitUntil("the operator's metrics page", func() bool {
		alive()
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

// counter sums a metric's series of the appstack controller (label controller= or
// name=) on the operator's metrics page.
func counter(metric string) float64 {
	var sum float64
	for _, l := range strings.Split(operatorMetrics(), "\n") {
		if strings.HasPrefix(l, metric+"{") && (strings.Contains(l, `controller="appstack"`) || strings.Contains(l, `name="appstack"`)) {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

func gauge(metric string) float64 { return counter(metric) }

// rssSeries keeps every 1-s sample of a process's resident set size, and its
// high-water mark.
type rssSeries struct {
	mu                  sync.Mutex
	samples, anon, file []float64
	hwm                 float64
	done                chan struct{}
}

func newRSSSeries(pid int) *rssSeries {
	s := &rssSeries{done: make(chan struct{})}
	go func() {
		for {
			select {
			case <-s.done:
				return
			case <-time.After(time.Second):
			}
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				continue
			}
			var rss, anon, file, hwm float64
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) >= 2 {
					kb, _ := strconv.ParseFloat(f[1], 64)
					switch f[0] {
					case "VmRSS:":
						rss = kb / 1024
					case "RssAnon:":
						anon = kb / 1024
					case "RssFile:":
						file = kb / 1024
					case "VmHWM:":
						hwm = kb / 1024
					}
				}
			}
			s.mu.Lock()
			s.samples, s.anon, s.file = append(s.samples, rss), append(s.anon, anon), append(s.file, file)
			s.hwm = hwm
			s.mu.Unlock()
		}
	}()
	return s
}

// mark is the index of the next sample.
func (s *rssSeries) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.samples)
}

// figures: the peak of the samples from peakFrom on, the high-water mark, and the
// median of the samples from steadyFrom on.
func (s *rssSeries) figures(peakFrom, steadyFrom int) rssFigures {
	s.mu.Lock()
	f := rssFigures{HWM: s.hwm, Steady: median(s.samples[steadyFrom:]), SteadyAnon: median(s.anon[steadyFrom:]),
		SteadyFile: median(s.file[steadyFrom:])}
	for _, v := range s.samples[peakFrom:] {
		f.Peak = math.Max(f.Peak, v)
	}
	s.mu.Unlock()
	f.Go = goMemory()
	return f
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func (s *rssSeries) stop() { close(s.done) }

// latest is the last sample, 0 before the first.
func (s *rssSeries) latest() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return 0
	}
	return s.samples[len(s.samples)-1]
}

func foreignReport(r *foreignResults, prefix string) {
	b, err := json.MarshalIndent(r, "", "  ")
	must(err)
	must(os.WriteFile(prefix+".json", b, 0o644))
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
	must(os.WriteFile(prefix+".md", []byte(md.String()), 0o644))
	fmt.Print("\n" + md.String())
}

// throwawayCluster starts a fresh local cluster of its own (env names it) for one
// measurement, deleted when the harness exits, interrupted or not, and returns its
// kubeconfig and the function that deletes it.
func throwawayCluster(root, name string, env map[string]string) (string, func()) {
	kubeconfig := filepath.Join(root, "bin", name+".kubeconfig")
	down := func() {
		step("deleting cluster %s", name)
		if err := run(root, env, "hack/dev-cluster.sh", "down"); err != nil {
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
	freshCluster(root, env, kubeconfig)
	return kubeconfig, down
}
