package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gstruct"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/graph"
)

const anySpec = "components: [{name: web, containers: [{name: app, image: nginx}]}]"

// listStacks creates one stack of each health and the status that makes it so.
func listStacks(t *testing.T) {
	ctx := context.Background()
	mk := func(name, spec string, conds ...func(*appstackv1.AppStack) metav1.Condition) {
		st := newStack(t, name, spec)
		create(t, st)
		if len(conds) == 0 {
			return
		}
		setStatus(t, st, func(s *appstackv1.AppStack) {
			s.Status.ObservedGeneration = s.Generation
			for _, c := range conds {
				s.Status.Conditions = append(s.Status.Conditions, c(s))
			}
		})
	}
	cond := func(typ string, status metav1.ConditionStatus, reason string) func(*appstackv1.AppStack) metav1.Condition {
		return func(s *appstackv1.AppStack) metav1.Condition {
			return condition(s, typ, status, reason, "because "+reason)
		}
	}
	notReady := cond(appstackv1.ConditionReady, metav1.ConditionFalse, appstackv1.ReasonProgressing)
	mk("l-ready", anySpec, cond(appstackv1.ConditionReady, metav1.ConditionTrue, appstackv1.ReasonReady))
	mk("l-failed", anySpec, cond(appstackv1.ConditionReady, metav1.ConditionFalse, "ImagePullBackOff"),
		cond(appstackv1.ConditionStalled, metav1.ConditionTrue, "ImagePullBackOff"))
	mk("l-progress", anySpec, notReady, cond(appstackv1.ConditionReconciling, metav1.ConditionTrue, appstackv1.ReasonProgressing))
	mk("l-paused", "paused: true\n"+anySpec, cond(appstackv1.ConditionReady, metav1.ConditionFalse, appstackv1.ReasonSuspended),
		cond(appstackv1.ConditionStalled, metav1.ConditionTrue, appstackv1.ReasonSuspended))
	mk("l-unknown", anySpec)
	mk("l-behind", anySpec, cond(appstackv1.ConditionReady, metav1.ConditionTrue, appstackv1.ReasonReady))
	behind := &appstackv1.AppStack{}
	if err := admin.Get(ctx, client.ObjectKey{Name: "l-behind"}, behind); err != nil {
		t.Fatal(err)
	}
	behind.Spec.Components[0].Containers[0].Image = "nginx:2"
	if err := admin.Update(ctx, behind); err != nil {
		t.Fatal(err)
	}
	deleting := newStack(t, "l-deleting", anySpec)
	deleting.Finalizers = []string{"test.appstack.dev/hold"}
	create(t, deleting)
	if err := admin.Delete(ctx, deleting); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.Patch(ctx, deleting, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`)))
	})
}

func TestStacksFailingFirst(t *testing.T) {
	g := NewWithT(t)
	listStacks(t)
	d := startDashboard(t, cfg)
	want := []string{"l-failed:Failed", "l-behind:Unknown", "l-deleting:Deleting", "l-progress:Progressing",
		"l-unknown:Unknown", "l-paused:Suspended", "l-ready:Ready"}
	var list StackList
	eventually(t, 10*time.Second, func() string {
		list = StackList{}
		if code := d.get("/api/stacks", &list); code != http.StatusOK {
			return fmt.Sprintf("GET /api/stacks: %d %+v", code, list)
		}
		var got []string
		for _, row := range list.Stacks {
			if strings.HasPrefix(row.Name, "l-") {
				got = append(got, row.Name+":"+row.Health)
			}
		}
		if !slices.Equal(got, want) {
			return fmt.Sprintf("stacks %v, want %v", got, want)
		}
		return ""
	})
	row := list.Stacks[slices.IndexFunc(list.Stacks, func(r StackRow) bool { return r.Name == "l-failed" })]
	g.Expect(row.Reason).To(Equal("ImagePullBackOff"))
	g.Expect(row.Message).To(Equal("because ImagePullBackOff"))
	g.Expect(row.Namespace).To(Equal("l-failed"))
	row = list.Stacks[slices.IndexFunc(list.Stacks, func(r StackRow) bool { return r.Name == "l-behind" })]
	g.Expect(row.Message).To(ContainSubstring("has not reported on the spec's generation 2 yet"))
	g.Expect(list.Forbidden).To(BeEmpty())
	g.Expect(list.Error).To(BeEmpty())
}

// objectNamed finds an object of a kind and name.
func objectNamed(objs []Object, kind, name string) *Object {
	i := slices.IndexFunc(objs, func(o Object) bool { return o.Kind == kind && o.Name == name })
	if i < 0 {
		return nil
	}
	return &objs[i]
}

// shopView waits until the shop's page shows web's pod, and returns it.
func shopView(t *testing.T, d *dash) StackView {
	t.Helper()
	var v StackView
	eventually(t, 10*time.Second, func() string {
		v = StackView{}
		if code := d.get("/api/stacks/shop", &v); code != http.StatusOK {
			return fmt.Sprintf("GET /api/stacks/shop: %d", code)
		}
		if len(v.Components["web"].Pods) == 0 || len(v.Events) == 0 {
			return fmt.Sprintf("no pods or events yet: %+v", v)
		}
		return ""
	})
	return v
}

func TestStackView(t *testing.T) {
	g := NewWithT(t)
	theShop(t)
	v := shopView(t, startDashboard(t, cfg))

	g.Expect(v.Name).To(Equal("shop"))
	g.Expect(v.Health).To(Equal(HealthProgressing))
	g.Expect(v.Graph.Edges).To(ConsistOf(
		graph.Edge{From: "component/db", To: "component/web", Type: graph.EdgeDependsOn},
		graph.Edge{From: "volume/data", To: "component/db", Type: graph.EdgeUses}))
	g.Expect(v.Hidden).To(BeEmpty(), "the admin reads everything")

	web := v.Components["web"]
	g.Expect(objectNamed(web.Objects, "Deployment", "web")).NotTo(BeNil())
	svc := objectNamed(web.Objects, "Service", "web")
	g.Expect(svc).NotTo(BeNil())
	g.Expect(svc.Service.Type).To(Equal("NodePort"))
	g.Expect(svc.Service.Ports).To(Equal([]string{"80:30080/TCP"}))
	g.Expect(svc.Service.URL).To(Equal("web.shop.svc.cluster.local:80"))
	g.Expect(svc.Service.ClusterIP).NotTo(BeEmpty())
	g.Expect(objectNamed(web.Objects, "Ingress", "web").Ingress.Hosts).To(Equal([]string{"shop.example.com"}))
	hpa := objectNamed(web.Objects, "HorizontalPodAutoscaler", "web").Autoscaler
	g.Expect(*hpa).To(Equal(AutoscalerInfo{Current: 2, Desired: 3, Min: 2, Max: 5, Targets: []string{"cpu 45%/50%"}}))

	g.Expect(web.Pods).To(HaveLen(1))
	pod := web.Pods[0]
	g.Expect(pod.Health).To(Equal("Running"))
	g.Expect(*pod.Pod).To(Equal(PodInfo{Ready: 0, Total: 1, Restarts: 3, Waiting: "CrashLoopBackOff", Node: "node-1"}))
	g.Expect(pod.Message).To(Equal("0/1 ready; nginx: CrashLoopBackOff"))

	g.Expect(objectNamed(v.StackObjects, "Namespace", "shop")).NotTo(BeNil())
	claim := objectNamed(v.StackObjects, "PersistentVolumeClaim", "data")
	g.Expect(claim).NotTo(BeNil())
	g.Expect(*claim.Claim).To(Equal(ClaimInfo{Phase: "Bound", Capacity: "1Gi", StorageClass: "standard", Retained: true}))
	g.Expect(objectNamed(v.StackObjects, "ConfigMap", "planted")).To(BeNil(), "labelled with the stack, not its own")

	g.Expect(v.Revisions).To(HaveLen(2), "the planted revision is not the stack's")
	g.Expect(v.Revisions[0]).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{"Number": BeEquivalentTo(1), "Current": BeFalse(),
		"Summary": Equal("web=nginx:1.27 db=postgres:17")}))
	g.Expect(v.Revisions[1]).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{"Number": BeEquivalentTo(2), "Current": BeTrue()}))

	reasons := make([]string, 0, len(v.Events))
	for _, e := range v.Events {
		reasons = append(reasons, e.Reason)
	}
	g.Expect(reasons).To(Equal([]string{"BackOff", "Created", "FailedCreate"}), "newest first, the planted ConfigMap's left out")
	g.Expect(v.Events[0]).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{"Object": Equal("Pod/web-5d8f-abcde"), "Count": BeEquivalentTo(5),
		"Type": Equal("Warning")}))

	g.Expect(v.Actions).To(Equal([]Action{
		{Title: "Roll back to revision 1", Command: "kubectl appstack rollback shop --to-revision 1 --context=envtest"},
		{Title: "See what applying your edited shop.yaml would change", Command: "kubectl appstack diff -f shop.yaml --context=envtest"},
		{Title: "Delete the stack (its retained volumes stay)", Command: "kubectl delete appstack shop --context=envtest"},
	}))
}

func TestRevisionDiff(t *testing.T) {
	g := NewWithT(t)
	theShop(t)
	d := startDashboard(t, cfg)
	shopView(t, d)
	var diff RevisionDiff
	g.Expect(d.get("/api/stacks/shop/diff?from=1&to=2", &diff)).To(Equal(http.StatusOK))
	g.Expect(diff.From).To(BeEquivalentTo(1))
	g.Expect(diff.Diff).To(HavePrefix("--- shop/revision-1/spec\n+++ shop/revision-2/spec\n"))
	g.Expect(diff.Diff).To(ContainSubstring("\n-  - image: nginx:1.27\n+  - image: nginx:1.28\n"))

	var fail map[string]string
	g.Expect(d.get("/api/stacks/shop/diff?from=1&to=9", &fail)).To(Equal(http.StatusNotFound))
	g.Expect(fail["error"]).To(Equal("stack shop has no revision 9; it has 1, 2"))
	g.Expect(d.get("/api/stacks/shop/diff?from=one&to=2", &fail)).To(Equal(http.StatusBadRequest))
	g.Expect(d.get("/api/stacks/nothere", &fail)).To(Equal(http.StatusNotFound))
	g.Expect(fail["error"]).To(ContainSubstring("there is no stack nothere"))
}

// sseReader reads the change events of a server-sent event stream, with the
// time each arrived.
func sseReader(t *testing.T, url string) <-chan string {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("GET /api/watch: Content-Type %q", ct)
	}
	out := make(chan string, 100)
	go func() {
		defer func() { _ = resp.Body.Close() }()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				out <- data
			}
		}
	}()
	return out
}

// awaitChange waits for the change event of stack.
func awaitChange(t *testing.T, events <-chan string, stack string, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case data := <-events:
			if data == fmt.Sprintf(`{"stack":%q}`, stack) {
				return
			}
		case <-timeout:
			t.Fatalf("no change event for stack %s within %s", stack, within)
		}
	}
}

func TestWatchSendsChangeOfChild(t *testing.T) {
	theShop(t)
	d := startDashboard(t, cfg)
	shopView(t, d)
	events := sseReader(t, d.url+"/api/watch")
	ctx := context.Background()
	deploy := &appsv1.Deployment{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "web"}, deploy); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // three changes in a burst: coalesced, each burst seen within 1 s
		start := time.Now()
		for j := range 3 {
			deploy.Annotations = map[string]string{"test": fmt.Sprint(i, j)}
			if err := admin.Update(ctx, deploy); err != nil {
				t.Fatal(err)
			}
		}
		awaitChange(t, events, "shop", time.Second)
		t.Logf("burst %d: change event %s after the first write", i, time.Since(start).Round(time.Millisecond))
		select {
		case extra := <-events:
			if extra == `{"stack":"shop"}` {
				t.Logf("a second event for the burst (writes spread over more than the window)")
			}
		case <-time.After(3 * coalesceWindow):
		}
	}
	// A deleted Deployment is the stack's change too.
	if err := admin.Delete(ctx, deploy); err != nil {
		t.Fatal(err)
	}
	awaitChange(t, events, "shop", time.Second)
	t.Cleanup(func() {
		deploy.ResourceVersion, deploy.UID = "", ""
		_ = admin.Create(ctx, deploy)
	})
}

func TestViewerSeesStacksAndNoActions(t *testing.T) {
	g := NewWithT(t)
	theShop(t)
	d := startDashboard(t, as(userViewer))
	var list StackList
	eventually(t, 10*time.Second, func() string {
		list = StackList{}
		d.get("/api/stacks", &list)
		if !slices.ContainsFunc(list.Stacks, func(r StackRow) bool { return r.Name == "shop" }) {
			return fmt.Sprintf("no stack shop: %+v", list)
		}
		return ""
	})
	var v StackView
	g.Expect(d.get("/api/stacks/shop", &v)).To(Equal(http.StatusOK))
	g.Expect(v.Actions).To(BeEmpty())
	g.Expect(v.Revisions).To(BeEmpty())
	g.Expect(v.Components).To(HaveKey("web"), "the graph's components come from the stack")
	g.Expect(v.Components["web"].Objects).To(BeEmpty())
	g.Expect(v.Hidden).To(ContainElements(
		HavePrefix("deployments, statefulsets, daemonsets, jobs, cronjobs, services, configmaps, persistentvolumeclaims, "+
			"ingresses, horizontalpodautoscalers and poddisruptionbudgets in namespace shop: you may not list and watch them there"),
		HavePrefix("namespaces: you may not list and watch namespaces cluster-wide"),
		HavePrefix("pods in namespace shop: you may not list and watch pods there; the components' phases"),
		HavePrefix("revisions (controllerrevisions in namespace shop): you may not list and watch them there"),
		HavePrefix("events in namespace shop: you may not list and watch events there"),
		HavePrefix("events about stacks (in namespace default): you may not"),
	))
	var fail map[string]string
	g.Expect(d.get("/api/stacks/shop/diff?from=1&to=2", &fail)).To(Equal(http.StatusForbidden))
	g.Expect(fail["error"]).To(ContainSubstring("you may not list and watch controllerrevisions there"))
}

// A user bound to nothing may not list stacks: the stacks page and a stack
// page say so (403) with a command to ask for, which the user's name, as the
// authenticator gave it, cannot break out of when pasted into a shell.
func TestStacksForbidden(t *testing.T) {
	g := NewWithT(t)
	theShop(t)
	user := "o'neil; touch pwned"
	d := startDashboard(t, as(user))
	var list StackList
	g.Expect(d.get("/api/stacks", &list)).To(Equal(http.StatusForbidden))
	g.Expect(list.Stacks).To(BeEmpty())
	g.Expect(list.Forbidden).To(HavePrefix("you (o'neil; touch pwned) may not list and watch AppStacks cluster-wide"))
	g.Expect(list.Forbidden).To(ContainSubstring("kubectl create clusterrolebinding appstack-viewer-o-neil--touch-pwned " +
		`--clusterrole=appstack-viewer-role --user='o'\''neil; touch pwned'`))
	g.Expect(list.Forbidden).To(HaveSuffix("then start the dashboard again."))
	var fail map[string]string
	g.Expect(d.get("/api/stacks/shop", &fail)).To(Equal(http.StatusForbidden))
	g.Expect(fail["error"]).To(Equal(list.Forbidden))
}

// The shopper may read pods and events in namespace shop only: the page starts
// informers there when the stack page is first asked for, and follows them.
func TestPerNamespaceInformers(t *testing.T) {
	g := NewWithT(t)
	theShop(t)
	d := startDashboard(t, as(userShopper))
	g.Expect(d.srv.cluster.has(d.srv.kindByGV[corev1.SchemeGroupVersion.WithKind("Pod")])).To(BeFalse(), "pods are not read cluster-wide")
	v := shopView(t, d)
	g.Expect(v.Components["web"].Pods).To(HaveLen(1))
	g.Expect(v.Events).To(ContainElement(HaveField("Reason", "BackOff")))
	g.Expect(v.Hidden).NotTo(ContainElement(HavePrefix("pods")))
	g.Expect(v.Hidden).To(ContainElement(HavePrefix("deployments, ")))

	events := sseReader(t, d.url+"/api/watch")
	p := podOf(t, "shop", "web-5d8f-abcde")
	p.Annotations = map[string]string{"touched": time.Now().String()}
	if err := admin.Update(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	awaitChange(t, events, "shop", time.Second)
}

func TestHostHeaderAndMethods(t *testing.T) {
	g := NewWithT(t)
	d := startDashboard(t, cfg)
	port := d.url[strings.LastIndex(d.url, ":")+1:]
	for host, want := range map[string]int{
		"127.0.0.1:" + port:         http.StatusOK,
		"localhost:" + port:         http.StatusOK,
		"evil.example:" + port:      http.StatusForbidden, // DNS rebinding
		"127.0.0.1:1" + port:        http.StatusForbidden,
		"localhost.evil.example:80": http.StatusForbidden,
	} {
		req, _ := http.NewRequest(http.MethodGet, d.url+"/api/info", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(want), "Host %s", host)
	}
	resp, err := http.Post(d.url+"/api/stacks", "application/json", nil)
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusMethodNotAllowed))

	var info Info
	g.Expect(d.get("/api/info", &info)).To(Equal(http.StatusOK))
	g.Expect(info).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{"Context": Equal("envtest"), "Server": Equal(cfg.Host),
		"Version": Equal("test")}))
	g.Expect(info.User).NotTo(BeEmpty())
}

func TestAssets(t *testing.T) {
	g := NewWithT(t)
	d := startDashboard(t, cfg)
	for path, ctype := range map[string]string{"/": "text/html", "/assets/dagre.min.js": "javascript",
		"/assets/LICENSE-dagre.txt": "text/plain"} {
		req, _ := http.NewRequest(http.MethodGet, d.url+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req)
		g.Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK), path)
		g.Expect(resp.Header.Get("Content-Type")).To(ContainSubstring(ctype), path)
		g.Expect(resp.Header.Get("Cache-Control")).To(Equal("no-cache"), path)
		g.Expect(resp.Header.Get("Content-Encoding")).To(Equal("gzip"), path)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		resp, err = http.DefaultTransport.RoundTrip(req)
		g.Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusNotModified), path)
	}
	resp, err := http.Get(d.url + "/assets/nothere.js")
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusNotFound))
}

func TestNewFailsFastOnUnreachableCluster(t *testing.T) {
	g := NewWithT(t)
	start := time.Now()
	_, err := New(&rest.Config{Host: "http://127.0.0.1:1"}, Options{Listen: "127.0.0.1:8080", Context: "gone"})
	g.Expect(err).To(MatchError(ContainSubstring(
		"cannot reach the API server at http://127.0.0.1:1 (context gone)")))
	g.Expect(time.Since(start)).To(BeNumerically("<", connectTimeout))
}

func podOf(t *testing.T, ns, name string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{}
	if err := admin.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// tcpProxy forwards connections from a loopback port to target until closed.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, addr, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// The API server goes away (here: the only way to it closes) and comes back:
// the stacks page says so, in words, with the stacks as last read, and stops
// saying so once it answers again.
func TestStacksSayWhenTheClusterIsUnreachable(t *testing.T) {
	g := NewWithT(t)
	theShop(t)
	target := strings.TrimSuffix(strings.TrimPrefix(cfg.Host, "https://"), "/")
	proxy := startProxy(t, "127.0.0.1:0", target)
	addr := proxy.ln.Addr().String()
	viaProxy := rest.CopyConfig(cfg)
	viaProxy.Host = "https://" + addr
	d := startDashboard(t, viaProxy, func(s *Server) { s.probeEvery = 500 * time.Millisecond })
	shopListed := func(list StackList) bool {
		return slices.ContainsFunc(list.Stacks, func(r StackRow) bool { return r.Name == "shop" })
	}
	eventually(t, 10*time.Second, func() string {
		var list StackList
		if d.get("/api/stacks", &list); !shopListed(list) || list.Error != "" {
			return fmt.Sprintf("stacks: %+v", list)
		}
		return ""
	})
	events := sseReader(t, d.url+"/api/watch")
	proxy.close()
	var list StackList
	eventually(t, 15*time.Second, func() string {
		list = StackList{}
		if d.get("/api/stacks", &list); list.Error == "" {
			return "no error while the API server cannot be reached"
		}
		return ""
	})
	g.Expect(list.Error).To(HavePrefix("cannot reach the API server at https://" + addr + " (context envtest)"))
	g.Expect(list.Error).To(HaveSuffix("The page shows the stacks as last read."))
	g.Expect(shopListed(list)).To(BeTrue(), "the stacks as last read")
	g.Expect(<-events).To(HavePrefix(`{"error":"cannot reach the API server at`), "the page is told")
	// A page that opens (or reconnects) during the outage is told at once too.
	late := sseReader(t, d.url+"/api/watch")
	select {
	case data := <-late:
		g.Expect(data).To(HavePrefix(`{"error":"cannot reach the API server at`), "a page opened during the outage")
	case <-time.After(2 * time.Second):
		t.Fatal("a page that opens /api/watch during the outage is not told that the API server cannot be reached")
	}
	startProxy(t, addr, target)
	eventually(t, 15*time.Second, func() string {
		list = StackList{}
		if d.get("/api/stacks", &list); list.Error != "" {
			return "still: " + list.Error
		}
		return ""
	})
	g.Expect(<-events).To(Equal(`{"error":""}`))
}

func TestNewSaysWhenCredentialsAreRefused(t *testing.T) {
	g := NewWithT(t)
	expired := rest.AnonymousClientConfig(cfg)
	expired.BearerToken = "expired"
	_, err := New(expired, Options{Listen: "127.0.0.1:8080", Context: "envtest"})
	g.Expect(err).To(MatchError(HavePrefix("the API server at " + cfg.Host + " (context envtest) refused your " +
		"credentials (401 Unauthorized: expired or revoked). Log in again")))
}
