// Command bench measures the operator against a plain client on the local cluster
// (`make bench`), each phase on a fresh instance of the same cluster definition: N
// stacks, each a namespace, a config, a retained volume, a `web`
// Deployment (2 replicas) with a Service, a `worker` Deployment (1 replica) and a
// `db` StatefulSet (1 replica) with its headless Service.
//
//  1. baseline: a plain Go client server-side-applies the very objects the operator
//     would (internal/render) with the same concurrency and client QPS, then waits
//     for the same readiness;
//  2. operator: the operator's binary converges N AppStacks created by this program;
//  3. requests per stack by verb for both, from the apiserver's audit log by user agent;
//  4. operator RSS (peak, steady), reconcile p50/p99 from its metrics;
//  5. operator writes over an idle window;
//  6. drift recovery: delete web Deployments one at a time, time until each is back;
//  7. with -dashboard, `kubectl appstack dashboard` over the N stacks, its stacks
//     page in headless Chromium (dashboard.go).
//
// It writes a markdown table and a JSON file into bench-results/. With -foreign it
// measures instead what others can make the operator hold (foreign.go).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/manifest"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/status"
	"github.com/appstack-dev/appstack-operator/test/utils"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

const (
	clusterName       = "appstack-bench"
	uaBaseline        = "appstack-bench-baseline"
	uaDriver          = "appstack-bench-driver"
	uaOperator        = "appstack-operator"
	objectsPerStack   = 9 // namespace, configmap, claim, 3 workloads, 2 services, revision
	workloadsPerStack = 3
	// webComponent is the stacks' Deployment component with a Service: the drift
	// phase deletes its Deployments, and the -foreign ConfigMaps carry its labels.
	webComponent = "web"
)

// The operator's metrics and pprof addresses; the -foreign mode picks free ports, so
// that it can run beside `make bench`.
var (
	metricsAddr = "127.0.0.1:18391"
	pprofAddr   = "127.0.0.1:18392"
)

type results struct {
	Machine   map[string]string  `json:"machine"`
	N         int                `json:"n"`
	Settings  map[string]string  `json:"settings"`
	Baseline  phase              `json:"baseline"`
	Operator  phase              `json:"operator"`
	Ratio     float64            `json:"operatorOverBaseline"`
	PeakRSS   float64            `json:"operatorPeakRSSMiB"`
	SteadyRSS float64            `json:"operatorSteadyRSSMiB"`
	Reconcile map[string]float64 `json:"reconcileSeconds"`
	// Queue is, up to convergence, how many passes ran and how long a stack waited
	// in the work queue and a pass took, on average (controller-runtime's
	// workqueue metrics).
	Queue      map[string]float64 `json:"workQueue"`
	IdleWindow string             `json:"idleWindow"`
	IdleWrites int                `json:"idleWrites"`
	Drift      map[string]float64 `json:"driftRecoverySeconds"`
	Dashboard  *dashboardResult   `json:"dashboard,omitempty"`
}

func (p *phase) record(t tally) {
	p.RequestsPerStack, p.WritesPerStack, p.WritesByResource = t.byVerb, t.writes, t.writesByResource
}

type phase struct {
	Seconds          float64            `json:"seconds"`
	RequestsPerStack map[string]float64 `json:"requestsPerStack"`
	WritesPerStack   float64            `json:"writesPerStack"`
	// WritesByResource is per stack, by resource[/subresource] and verb.
	WritesByResource map[string]float64 `json:"writesPerStackByResource"`
}

func main() {
	n := flag.Int("n", 500, "stacks")
	concurrency := flag.Int("concurrency", 4, "parallel reconciles / parallel baseline workers")
	qps := flag.Float64("qps", 50, "client QPS of the operator and of the baseline")
	burst := flag.Int("burst", 100, "client burst")
	idle := flag.Duration("idle", 120*time.Second, "idle window for the writes-at-rest count")
	drifts := flag.Int("drift", 50, "Deployments to delete for drift recovery")
	out := flag.String("out", "bench-results", "results folder")
	timeout := flag.Duration("timeout", 20*time.Minute, "how long either phase may take to converge before the run fails")
	check := flag.Bool("check", false, "exit 1 unless the targets that do not depend on scale hold: no writes at rest, drift recovery p50 ≤ 1 s (the smoke run in make test)")
	foreign := flag.Int("foreign", 0, "instead of the comparison, measure what others can make the operator hold: this many ConfigMaps of -foreign-bytes, "+
		"labelled like the children of -foreign-stacks stacks, in a namespace no stack owns (cluster "+foreignCluster+"); -check fails unless RSS and reconciles stay put")
	foreignStacks := flag.Int("foreign-stacks", 20, "with -foreign: the ordinary stacks")
	foreignBytes := flag.Int("foreign-bytes", 1_000_000, "with -foreign: bytes of data in each ConfigMap")
	foreignOwner := flag.Bool("foreign-owner", false, "with -foreign: each ConfigMap also names a stack as its controller, by a made-up UID")
	foreignWait := flag.Duration("foreign-wait", time.Minute, "with -foreign: how long the ConfigMaps are left to the operator once created (the last 20 s are its steady sample)")
	revisions := flag.Int("revisions", 0, "instead of the comparison, measure what one author's edits make the operator hold: "+
		"this many spec edits of each of -revisions-stacks stacks with a config of -revisions-bytes and revisionHistoryLimit "+
		"-revisions-limit (cluster "+revisionsCluster+"); -check fails unless the steady RSS after them is within 2× of the RSS at rest "+
		"and the high-water mark under the chart's limit")
	revisionsStacks := flag.Int("revisions-stacks", 3, "with -revisions: the stacks")
	revisionsBytes := flag.Int("revisions-bytes", 900_000, "with -revisions: bytes of data in each stack's config")
	revisionsLimit := flag.Int("revisions-limit", 100, "with -revisions: each stack's spec.revisionHistoryLimit")
	dash := flag.Bool("dashboard", false, "at the end, `kubectl appstack dashboard` (bin/kubectl-appstack) over the N stacks and its stacks page in "+
		"headless Chromium (make tools-chromium): first render, all rows, page weight, the filter, an AppStack change to its row; -check fails "+
		"unless the row follows within 2 s")
	manager := flag.String("manager", "", "with -revisions or -foreign: the operator binary to run (default bin/manager), e.g. one built from an older commit")
	flag.Parse()
	waitTimeout = *timeout
	root, _ := filepath.Abs(".")
	ctx := context.Background()
	must(os.MkdirAll(*out, 0o755))
	bin := *manager
	if bin == "" {
		bin = filepath.Join(root, "bin", "manager")
	}
	if *revisions > 0 {
		runRevisions(ctx, root, *out, bin, *revisionsStacks, *revisions, *revisionsBytes, int32(*revisionsLimit), *check)
		return
	}
	if *foreign > 0 {
		runForeign(ctx, root, *out, bin, *foreignStacks, *foreign, *foreignBytes, max(*foreignWait, steadyWindow), *foreignOwner, *check)
		return
	}
	prefix := filepath.Join(*out, "bench-"+time.Now().UTC().Format("20060102-150405"))
	res := &results{N: *n, Machine: machine(root), Settings: map[string]string{
		"concurrency": fmt.Sprint(*concurrency), "qps": fmt.Sprint(*qps), "burst": fmt.Sprint(*burst)}}

	// Each phase gets a fresh cluster of the same definition, so that neither runs
	// beside the other's N stacks (their pods, and their claims in the
	// persistent-volume controller's way). Pods per stack: 4; a kwok node holds 110.
	env := map[string]string{envNodes: fmt.Sprint(*n*8/100 + 4), envPVPool: fmt.Sprint(*n + 20),
		"PV_SIZES": "1Gi", "AUDIT_POLICY": filepath.Join(root, "hack", "audit-policy-all.yaml")}
	cluster := utils.NewCluster(root, clusterName, os.Stdout)
	kubeconfig, audit := cluster.Kubeconfig, cluster.AuditLog()
	freshCluster := func() { freshCluster(cluster, env) }

	// 1. baseline
	freshCluster()
	bc := newClient(kubeconfig, uaBaseline, *qps, *burst)
	stacks := makeStacks("bench-b", *n)
	step("baseline: a plain client applies %d stacks' objects, %d at a time", *n, *concurrency)
	start := time.Now()
	parallel(*concurrency, stacks, func(s *appstackv1.AppStack) {
		d, err := render.Render(s)
		must(err)
		for _, obj := range d.Objects() {
			u, err := manifest.Unstructured(obj)
			must(err)
			for {
				err := bc.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("bench-baseline"), client.ForceOwnership)
				if err == nil {
					break
				}
				time.Sleep(200 * time.Millisecond) // e.g. the namespace is not visible yet
			}
		}
	})
	waitWorkloads(ctx, bc, "bench-b", *n)
	res.Baseline.Seconds = time.Since(start).Seconds()
	res.Baseline.record(perStack(audit, uaBaseline, start, time.Now(), *n))
	step("baseline converged in %.1fs", res.Baseline.Seconds)

	// 2. operator
	freshCluster()
	step("operator: %d AppStacks", *n)
	logf, err := os.Create(filepath.Join(root, "bin", clusterName+".manager.log"))
	must(err)
	op := startOperator(filepath.Join(root, "bin", "manager"), kubeconfig, logf, nil, fmt.Sprintf("--max-concurrent-reconciles=%d", *concurrency),
		fmt.Sprintf("--kube-api-qps=%g", *qps), fmt.Sprintf("--kube-api-burst=%d", *burst),
		"--metrics-bind-address="+metricsAddr, "--metrics-secure=false", "--health-probe-bind-address=0",
		"--pprof-bind-address="+pprofAddr)
	defer op.Stop(os.Kill)
	time.Sleep(2 * time.Second)
	rss := utils.SampleRSS(op.Pid())
	dc := newClient(kubeconfig, uaDriver, 200, 400)
	ostacks := makeStacks("bench-o", *n)
	start = time.Now()
	// A CPU profile over the time the operator may take (the target ratio), from the
	// first create.
	cpuDone := profile("profile?seconds="+fmt.Sprint(int(math.Ceil(res.Baseline.Seconds*1.3))), prefix+"-cpu.pprof")
	parallel(8, ostacks, func(s *appstackv1.AppStack) { must(dc.Create(ctx, s)) })
	waitStacks(ctx, dc, "bench-o", *n)
	end := time.Now()
	res.Operator.Seconds = end.Sub(start).Seconds()
	res.Operator.record(perStack(audit, uaOperator, start, end, *n))
	res.Ratio = res.Operator.Seconds / res.Baseline.Seconds
	step("operator converged in %.1fs (%.2f× baseline)", res.Operator.Seconds, res.Ratio)
	<-profile("heap?gc=1", prefix+"-heap.pprof")
	res.Queue = queueFigures()

	// 3. idle
	time.Sleep(10 * time.Second)
	idleStart := time.Now()
	step("idle for %s", *idle)
	time.Sleep(*idle)
	idleTally := perStack(audit, uaOperator, idleStart, time.Now(), 1)
	res.IdleWindow, res.IdleWrites = idle.String(), int(idleTally.writes)
	rss.Stop()
	res.PeakRSS, res.SteadyRSS = rss.Peak(0), rss.Latest()
	res.Reconcile = reconcileQuantiles()
	<-cpuDone

	// 4. drift
	step("drift: deleting %d web Deployments one at a time", *drifts)
	var recov []float64
	for _, i := range rand.New(rand.NewSource(1)).Perm(*n)[:min(*drifts, *n)] {
		key := client.ObjectKey{Namespace: fmt.Sprintf("bench-o-%03d", i), Name: webComponent}
		d := &appsv1.Deployment{}
		must(dc.Get(ctx, key, d))
		old := d.UID
		t0 := time.Now()
		must(dc.Delete(ctx, d))
		for deadline := t0.Add(time.Minute); ; {
			now := &appsv1.Deployment{}
			if err := dc.Get(ctx, key, now); err == nil && now.UID != old {
				break
			}
			if time.Now().After(deadline) {
				must(fmt.Errorf("deleted Deployment %s not restored after a minute", key))
			}
			time.Sleep(10 * time.Millisecond)
		}
		recov = append(recov, time.Since(t0).Seconds())
	}
	res.Drift = map[string]float64{"p50": quantile(recov, 0.5), "p99": quantile(recov, 0.99)}
	if *dash {
		waitStacks(ctx, dc, "bench-o", *n)
		res.Dashboard = dashboardPhase(ctx, root, kubeconfig, dc, "bench-o", *n)
	}
	report(res, prefix)
	if *check {
		var failed []string
		if res.IdleWrites != 0 {
			failed = append(failed, fmt.Sprintf("%d writes at rest, want 0", res.IdleWrites))
		}
		if res.Drift["p50"] > 1 {
			failed = append(failed, fmt.Sprintf("drift recovery p50 %.2f s, want ≤ 1 s", res.Drift["p50"]))
		}
		if d := res.Dashboard; d != nil && d.RowUpdate > 2 {
			failed = append(failed, fmt.Sprintf("the dashboard's row followed an AppStack change after %.2f s, want ≤ 2 s", d.RowUpdate))
		}
		if len(failed) > 0 {
			fmt.Fprintln(os.Stderr, "bench: "+strings.Join(failed, "; "))
			operator.Stop(os.Kill)
			os.Exit(1)
		}
	}
}

// freshCluster (re)creates the local cluster (hack/dev-cluster.sh, with the
// variables of env) and installs the CRD.
func freshCluster(c utils.Cluster, env map[string]string) {
	step("fresh cluster %s with %s nodes and a pool of %s volumes", c.Name, env[envNodes], env[envPVPool])
	// Simulated nodes only: the benchmark measures the control plane, and a real
	// node's processes would share its two cores.
	env["REAL_NODE"] = "0"
	_, err := c.DevCluster(envVars(env), "down")
	must(err)
	_, err = c.DevCluster(envVars(env), "up")
	must(err)
	must(c.ApplyCRD(false, "-f", filepath.Join(c.Root, "config", "crd", "bases")))
	time.Sleep(3 * time.Second)
}

// envVars are hack/dev-cluster.sh's variables of env, KEY=value.
func envVars(env map[string]string) []string {
	vars := make([]string, 0, len(env))
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	sort.Strings(vars)
	return vars
}

// waitTimeout bounds each wait for convergence.
var waitTimeout time.Duration

func waitUntil(what string, done func() bool) {
	deadline := time.Now().Add(waitTimeout)
	for !done() {
		if time.Now().After(deadline) {
			must(fmt.Errorf("%s: not done after %s", what, waitTimeout))
		}
		time.Sleep(time.Second)
	}
}

// profile fetches one of the operator's /debug/pprof/ profiles into file, in the
// background; the channel closes when it is written.
func profile(query, file string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/" + query)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: profile:", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(file)
		must(err)
		_, err = io.Copy(f, resp.Body)
		must(err)
		must(f.Close())
	}()
	return done
}

func makeStacks(prefix string, n int) []*appstackv1.AppStack {
	var out []*appstackv1.AppStack
	for i := 0; i < n; i++ {
		out = append(out, &appstackv1.AppStack{
			TypeMeta:   metav1.TypeMeta{APIVersion: appstackv1.GroupVersion.String(), Kind: "AppStack"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%03d", prefix, i)},
			Spec: appstackv1.AppStackSpec{
				Configs: []appstackv1.Config{{Name: "app-config", Data: map[string]string{"mode": "bench"}}},
				Volumes: []appstackv1.StackVolume{{Name: "db-data", Size: resource.MustParse("1Gi"),
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, Retain: ptr.To(true)}},
				Components: []appstackv1.Component{
					{Name: webComponent, Kind: appstackv1.KindDeployment, Replicas: ptr.To(int32(2)),
						Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27",
							Ports:        []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
							VolumeMounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/app"}}}},
						Volumes: []appstackv1.ComponentVolume{{Name: "cfg", Config: "app-config"}}},
					{Name: "worker", Kind: appstackv1.KindDeployment, Replicas: ptr.To(int32(1)),
						Containers: []corev1.Container{{Name: "worker", Image: "busybox:1.36"}}},
					{Name: "db", Kind: appstackv1.KindStatefulSet, Replicas: ptr.To(int32(1)),
						Containers: []corev1.Container{{Name: "pg", Image: "postgres:16",
							Ports:        []corev1.ContainerPort{{Name: "pg", ContainerPort: 5432, Protocol: corev1.ProtocolTCP}},
							VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql/data"}}}},
						Volumes: []appstackv1.ComponentVolume{{Name: "data", PersistentVolume: "db-data"}}},
				},
			},
		})
	}
	return out
}

func newClient(kubeconfig, ua string, qps float64, burst int) client.Client {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	must(err)
	cfg.UserAgent, cfg.QPS, cfg.Burst = ua, float32(qps), burst
	scheme := clientgoscheme.Scheme
	utilruntime.Must(appstackv1.AddToScheme(scheme))
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	must(err)
	return c
}

// parallel runs f for each of xs on workers goroutines.
func parallel[T any](workers int, xs []T, f func(T)) {
	ch := make(chan T)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := range ch {
				f(x)
			}
		}()
	}
	for _, x := range xs {
		ch <- x
	}
	close(ch)
	wg.Wait()
}

// waitWorkloads waits until every Deployment and StatefulSet of the baseline's
// namespaces is ready by the same kstatus rules the operator uses.
func waitWorkloads(ctx context.Context, c client.Client, prefix string, n int) {
	waitUntil("baseline workloads ready", func() bool {
		ready := 0
		deps := &appsv1.DeploymentList{}
		must(c.List(ctx, deps, client.MatchingLabels{render.LabelManagedBy: render.ManagedBy}))
		for i := range deps.Items {
			if strings.HasPrefix(deps.Items[i].Namespace, prefix) && current(&deps.Items[i], appsv1.SchemeGroupVersion.WithKind("Deployment")) {
				ready++
			}
		}
		sts := &appsv1.StatefulSetList{}
		must(c.List(ctx, sts, client.MatchingLabels{render.LabelManagedBy: render.ManagedBy}))
		for i := range sts.Items {
			if strings.HasPrefix(sts.Items[i].Namespace, prefix) && current(&sts.Items[i], appsv1.SchemeGroupVersion.WithKind("StatefulSet")) {
				ready++
			}
		}
		return ready == n*workloadsPerStack
	})
}

func current(obj client.Object, gvk schema.GroupVersionKind) bool {
	st, _, err := status.Readiness(obj, gvk)
	return err == nil && st == kstatus.CurrentStatus
}

func waitStacks(ctx context.Context, c client.Client, prefix string, n int) {
	waitUntil("stacks Ready", func() bool {
		list := &appstackv1.AppStackList{}
		must(c.List(ctx, list))
		ready := 0
		for _, s := range list.Items {
			cond := meta.FindStatusCondition(s.Status.Conditions, appstackv1.ConditionReady)
			if strings.HasPrefix(s.Name, prefix) && cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == s.Generation {
				ready++
			}
		}
		return ready == n
	})
}

// tally is what one user agent asked of the apiserver in a window, per stack.
type tally struct {
	// byVerb counts every request by verb; writesByResource counts the writes by
	// resource[/subresource] and verb.
	byVerb, writesByResource map[string]float64
	writes                   float64
}

// perStack counts the requests a user agent made between from and to, from the
// audit log (hack/audit-policy-all.yaml records every request), per verb and per
// stack, and the writes per stack. Long-running watches are counted once, when they end.
func perStack(auditLog, userAgent string, from, to time.Time, n int) tally {
	t := tally{byVerb: map[string]float64{}, writesByResource: map[string]float64{}}
	must(utils.ReadAudit(auditLog, func(ev utils.AuditEvent) {
		if !strings.HasPrefix(ev.UserAgent, userAgent) || ev.StageTimestamp.Before(from) || ev.StageTimestamp.After(to) {
			return
		}
		t.byVerb[ev.Verb]++
		switch ev.Verb {
		case "create", "update", "patch", "delete", "deletecollection":
			t.writes++
			res := ev.ObjectRef.Resource
			if ev.ObjectRef.Subresource != "" {
				res += "/" + ev.ObjectRef.Subresource
			}
			t.writesByResource[res+" "+ev.Verb]++
		}
	}))
	for _, m := range []map[string]float64{t.byVerb, t.writesByResource} {
		for k := range m {
			m[k] /= float64(n)
		}
	}
	t.writes /= float64(n)
	return t
}

// operatorMetrics is the operator's /metrics page.
func operatorMetrics() string {
	page, err := utils.Scrape(metricsAddr)
	must(err)
	return page
}

// queueFigures reads the work queue's histograms of the appstack controller.
func queueFigures() map[string]float64 {
	page := operatorMetrics()
	val := func(metric string) float64 {
		for _, m := range utils.Samples(page, metric) {
			if strings.Contains(m.Labels, `name="appstack"`) {
				return m.Value
			}
		}
		return math.NaN()
	}
	passes := val("workqueue_work_duration_seconds_count")
	return map[string]float64{
		"passes":          passes,
		"meanWaitSeconds": val("workqueue_queue_duration_seconds_sum") / val("workqueue_queue_duration_seconds_count"),
		"meanPassSeconds": val("workqueue_work_duration_seconds_sum") / passes,
		"busySeconds":     val("workqueue_work_duration_seconds_sum"),
	}
}

// reconcileQuantiles estimates p50 and p99 of the operator's reconcile time from
// controller-runtime's histogram (upper bound of the bucket the quantile falls in).
func reconcileQuantiles() map[string]float64 {
	type bucket struct{ le, count float64 }
	var buckets []bucket
	for _, m := range utils.Samples(operatorMetrics(), "controller_runtime_reconcile_time_seconds_bucket") {
		le, ok := strings.CutPrefix(m.Labels, `controller="appstack",le="`)
		if !ok {
			continue
		}
		le, _, _ = strings.Cut(le, `"`)
		v := math.Inf(1)
		if le != "+Inf" {
			v, _ = strconv.ParseFloat(le, 64)
		}
		buckets = append(buckets, bucket{v, m.Value})
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].le < buckets[j].le })
	q := func(p float64) float64 {
		if len(buckets) == 0 {
			return math.NaN()
		}
		total := buckets[len(buckets)-1].count
		for _, b := range buckets {
			if b.count >= p*total {
				return b.le
			}
		}
		return math.Inf(1)
	}
	return map[string]float64{"p50": q(0.5), "p99": q(0.99)}
}

func quantile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(math.Ceil(p*float64(len(s))))-1]
}

func machine(root string) map[string]string {
	m := map[string]string{"cores": fmt.Sprint(runtime.NumCPU()), "go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := exec.Command(filepath.Join(root, "bin", "kube-apiserver"), "--version").Output(); err == nil {
		m["kubernetes"] = strings.TrimSpace(string(b))
	}
	if b, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output(); err == nil {
		m["commit"] = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m["memory"] = strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1] + " kB"
	}
	return m
}

func report(r *results, prefix string) {
	var md strings.Builder
	fmt.Fprintf(&md, "N=%d stacks, %s cores, %s, %s, commit %s, concurrency %s, client QPS %s/burst %s\n\n", r.N, r.Machine["cores"],
		r.Machine["kubernetes"], r.Machine["go"], r.Machine["commit"], r.Settings["concurrency"], r.Settings["qps"], r.Settings["burst"])
	fmt.Fprintf(&md, "| measure | operator | baseline | target |\n| --- | --- | --- | --- |\n")
	fmt.Fprintf(&md, "| time to all Ready | %.1f s | %.1f s | ratio %.2f (≤ 1.3) |\n", r.Operator.Seconds, r.Baseline.Seconds, r.Ratio)
	fmt.Fprintf(&md, "| write requests per stack | %.1f | %.1f | ≤ %d + 2 |\n", r.Operator.WritesPerStack, r.Baseline.WritesPerStack, objectsPerStack)
	fmt.Fprintf(&md, "| writes per stack by verb | %s | %s | |\n", verbs(r.Operator.RequestsPerStack), verbs(r.Baseline.RequestsPerStack))
	fmt.Fprintf(&md, "| peak / steady RSS | %.0f / %.0f MiB | | ≤ 150 MiB |\n", r.PeakRSS, r.SteadyRSS)
	fmt.Fprintf(&md, "| reconcile p50 / p99 | ≤ %gs / ≤ %gs | | |\n", r.Reconcile["p50"], r.Reconcile["p99"])
	fmt.Fprintf(&md, "| passes; mean wait in queue / mean pass | %.0f; %.2f s / %.3f s (workers busy %.0f of %.0f worker-seconds) | | |\n",
		r.Queue["passes"], r.Queue["meanWaitSeconds"], r.Queue["meanPassSeconds"], r.Queue["busySeconds"],
		r.Operator.Seconds*float64(atoi(r.Settings["concurrency"])))
	fmt.Fprintf(&md, "| writes at rest (%s) | %d | | 0 |\n", r.IdleWindow, r.IdleWrites)
	fmt.Fprintf(&md, "| drift recovery p50 / p99 | %.2f s / %.2f s | | p50 ≤ 1 s |\n", r.Drift["p50"], r.Drift["p99"])
	fmt.Fprintf(&md, "\nOperator writes per stack during creation, by resource: %s\n", byResource(r.Operator.WritesByResource))
	if r.Dashboard != nil {
		md.WriteString(dashboardReport(r.Dashboard, r.N))
	}
	for _, p := range []struct{ name, file, args string }{
		{"CPU during convergence", "-cpu.pprof", "-top -nodecount=15"},
		{"heap in use once converged", "-heap.pprof", "-top -nodecount=15 -sample_index=inuse_space"},
		{"heap allocated since start", "-heap.pprof", "-top -nodecount=15 -sample_index=alloc_space"},
	} {
		out, err := exec.Command("go", append([]string{"tool", "pprof"}, append(strings.Fields(p.args), prefix+p.file)...)...).Output()
		if err != nil {
			continue
		}
		fmt.Fprintf(&md, "\n%s (`go tool pprof %s %s`):\n\n```\n%s```\n", p.name, p.args, filepath.Base(prefix+p.file), out)
	}
	writeResults(prefix, r, md.String())
}

// writeResults writes a run's results r as prefix.json and its table md as
// prefix.md, and prints the table.
func writeResults(prefix string, r any, md string) {
	b, err := json.MarshalIndent(r, "", "  ")
	must(err)
	must(os.WriteFile(prefix+".json", b, 0o644))
	must(os.WriteFile(prefix+".md", []byte(md), 0o644))
	fmt.Print("\n" + md)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func byResource(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func verbs(m map[string]float64) string {
	var parts []string
	for _, k := range []string{"create", "patch", "update", "delete"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f", k, v))
		}
	}
	return strings.Join(parts, ", ")
}

func step(format string, args ...any) {
	fmt.Printf("==> [%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// operator is the operator's process once started; a failing run stops it.
var operator *utils.Manager

// startOperator starts the operator's binary bin with args against kubeconfig (env
// added to its environment, its output to log) as the run's operator.
func startOperator(bin, kubeconfig string, log *os.File, env []string, args ...string) *utils.Manager {
	op, err := utils.StartManager(bin, kubeconfig, log, env, args...)
	must(err)
	operator = op
	return op
}

// envNodes and envPVPool are hack/dev-cluster.sh's simulated nodes and volumes.
const (
	envNodes  = "NODES"
	envPVPool = "PV_POOL"
)

// atExit runs, last first, when a failing run exits (e.g. the -foreign mode's
// cluster teardown).
var atExit []func()

func exit(code int) {
	if operator != nil {
		operator.Stop(os.Kill)
	}
	for i := len(atExit) - 1; i >= 0; i-- {
		atExit[i]()
	}
	os.Exit(code)
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		exit(1)
	}
}
