//go:build browser

package dashboard

// A fixture server for the page (internal/dashboard/web): it serves the embedded
// page and dagre as the dashboard does, and canned answers to the routes of
// api.go — 500 stacks, one rich stack "shop", and a server-sent event that
// changes shop — so the page can be looked at and tested in a real browser
// without a cluster. fixture_page_test.go drives chromium against it; to look
// at it yourself:
//
//	go test -tags browser ./internal/dashboard -run TestFixtureStacksPage -fixture.serve 127.0.0.1:8099
//
// and open http://127.0.0.1:8099/ (the test serves until interrupted).

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/graph"
)

// fixtureNow is the fixtures' clock: ages on the page are counted from it.
var fixtureNow = time.Now().UTC().Truncate(time.Second)

func fxAgo(d time.Duration) time.Time { return fixtureNow.Add(-d) }

// fxServer is the fixture server's state: changed flips when the event stream has told
// the page that shop changed, and shop's answers change with it.
type fxServer struct {
	changed atomic.Bool
	// eventAfter is how long /api/watch waits before it changes shop and says so.
	eventAfter time.Duration
	// closeAfterEvent ends the stream after its event, with a retry far off:
	// chromium's virtual time (--virtual-time-budget) stands still while a
	// request is open, so a stream held open would never let it dump the page.
	closeAfterEvent bool
	// forbidden, when set, is /api/stacks's Forbidden: the identity may not list stacks.
	forbidden string
}

// handler serves the page from web (the embedded webFS's web/, or the
// directory itself while editing) and the fixtures.
func (f *fxServer) handler(web fs.FS) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, web, "index.html")
	})
	mux.HandleFunc("GET /assets/dagre.min.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(graph.DagreJS)
	})
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(web)))
	mux.HandleFunc("GET /api/info", func(w http.ResponseWriter, _ *http.Request) { fxWriteJSON(w, 200, fixtureInfo()) })
	mux.HandleFunc("GET /api/stacks", func(w http.ResponseWriter, _ *http.Request) {
		if f.forbidden != "" {
			fxWriteJSON(w, 200, StackList{Stacks: []StackRow{}, Forbidden: f.forbidden})
			return
		}
		fxWriteJSON(w, 200, fixtureStacks(f.changed.Load()))
	})
	mux.HandleFunc("GET /api/stacks/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != "shop" {
			fxWriteJSON(w, 404, map[string]string{"error": fmt.Sprintf("stack %q not found", r.PathValue("name"))})
			return
		}
		fxWriteJSON(w, 200, fixtureShop(f.changed.Load()))
	})
	mux.HandleFunc("GET /api/stacks/{name}/diff", func(w http.ResponseWriter, r *http.Request) {
		var d RevisionDiff
		_, _ = fmt.Sscan(r.URL.Query().Get("from"), &d.From)
		_, _ = fmt.Sscan(r.URL.Query().Get("to"), &d.To)
		d.Diff = fixtureDiff(d.From, d.To)
		fxWriteJSON(w, 200, d)
	})
	mux.HandleFunc("GET /api/watch", f.watch)
	return mux
}

// watch is /api/watch: after eventAfter, shop changes and the stream says so;
// then it stays open, as the dashboard's does (unless closeAfterEvent).
func (f *fxServer) watch(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	flusher := w.(http.Flusher)
	if f.closeAfterEvent {
		_, _ = fmt.Fprint(w, "retry: 3600000\n")
	}
	_, _ = fmt.Fprint(w, ": hello\n\n")
	flusher.Flush()
	select {
	case <-r.Context().Done():
		return
	case <-time.After(f.eventAfter):
	}
	f.changed.Store(true)
	_, _ = fmt.Fprint(w, "event: change\ndata: {\"stack\":\"shop\"}\n\n")
	flusher.Flush()
	if !f.closeAfterEvent {
		<-r.Context().Done()
	}
}

func fxWriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fixtureInfo() Info {
	return Info{
		Context: "kind-appstack", Server: "https://127.0.0.1:6443", User: "kubernetes-admin",
		Groups: []string{"kubeadm:cluster-admins", "system:authenticated"}, Version: "v0.9.0-dev",
	}
}

// fxHostile is a status message written as markup: the page must show it as text.
const fxHostile = `<img src=x onerror="document.body.dataset.pwned=1"> & "quoted" <b>not bold</b>`

// fixtureStacks are shop and 499 generated stacks, failing first then by name,
// as the dashboard orders them; after the change shop's row says web was deleted.
func fixtureStacks(changed bool) StackList {
	healths := []struct {
		health, reason, message string
		every                   int
	}{
		{"Failed", "ComponentFailed", "component api: pod api-7d9f8b6c5d-x2k4p: ImagePullBackOff: Back-off pulling image " +
			"\"example/shop-api:1.5.0\": manifest unknown; check the image name and tag, and the registry's credentials", 19},
		{"Progressing", "ComponentsProgressing", "component web: 1 of 2 replicas ready", 11},
		{"Unknown", "", "", 47},
		{"Deleting", "Deleting", "waiting for 3 objects to be deleted: Deployment web, Service web, PersistentVolumeClaim data", 83},
		{"Suspended", "Suspended", "spec.suspend is true: the operator leaves the stack as it is", 29},
	}
	rows := []StackRow{fxShopRow(changed)}
	for i := 1; i < 500; i++ {
		r := StackRow{
			Name: fmt.Sprintf("app-%03d", i), Namespace: fmt.Sprintf("team-%d", i%7), Ready: "3/3", Health: "Ready",
			Reason: "Ready", Message: "all 3 components are ready", Revision: int64(1 + i%5), Created: fxAgo(time.Duration(i) * 37 * time.Minute),
		}
		for _, h := range healths {
			if i%h.every == 0 {
				r.Health, r.Reason, r.Message, r.Ready = h.health, h.reason, h.message, "1/3"
				break
			}
		}
		if i == 7 {
			r.Health, r.Reason, r.Message = "Failed", "ComponentFailed", fxHostile
		}
		rows = append(rows, r)
	}
	order := map[string]int{"Failed": 0, "Progressing": 1, "Unknown": 1, "Deleting": 1, "Suspended": 2, "Ready": 3}
	sort.SliceStable(rows, func(a, b int) bool {
		if order[rows[a].Health] != order[rows[b].Health] {
			return order[rows[a].Health] < order[rows[b].Health]
		}
		return rows[a].Name < rows[b].Name
	})
	return StackList{Stacks: rows}
}

func fxShopRow(changed bool) StackRow {
	r := StackRow{
		Name: "shop", Namespace: "shop", Ready: "2/5", Health: "Failed", Reason: "ComponentFailed",
		Message: `component api: ImagePullBackOff: Back-off pulling image "example/shop-api:1.5.0"`,
		// Revision is the one running: the operator rolled back to 2.
		Revision: 2, Created: fxAgo(3*24*time.Hour + 5*time.Hour),
	}
	if changed {
		r.Ready = "1/5"
		r.Message = "component web: Deployment web was deleted; the operator is recreating it"
	}
	return r
}

// fixtureDiff is the unified diff between two of shop's revisions.
func fixtureDiff(from, to int64) string {
	if from == to {
		return ""
	}
	images := map[int64][2]string{1: {"1.4.2", "nginx:1.25"}, 2: {"1.5.0", "nginx:1.27"}, 3: {"1.5.0", "nginx:1.27"}}
	a, b := images[from], images[to]
	var out strings.Builder
	fmt.Fprintf(&out, "--- revision %d\n+++ revision %d\n@@ -12,7 +12,7 @@\n   - name: api\n     containers:\n", from, to)
	if a[0] != b[0] {
		fmt.Fprintf(&out, "-    - image: example/shop-api:%s\n+    - image: example/shop-api:%s\n", a[0], b[0])
	}
	out.WriteString("       name: api\n@@ -40,6 +40,6 @@\n   - name: web\n")
	if a[1] != b[1] {
		fmt.Fprintf(&out, "-    - image: %s\n+    - image: %s\n", a[1], b[1])
	}
	if from == 3 || to == 3 {
		out.WriteString("@@ -58,3 +58,4 @@\n   - name: worker\n+    args: [\"--batch=500\"]\n")
	}
	return out.String()
}

// fixtureShop is the rich stack: five components along dependsOn (db and cache,
// then api, then web and worker), api Failed on ImagePullBackOff, a retained
// claim, an autoscaler, an Ingress, three revisions with a rollback in force,
// events, actions and hidden lines. After the change web's Deployment is gone.
func fixtureShop(changed bool) StackView {
	v := StackView{
		StackRow: fxShopRow(changed),
		Graph:    fxShopGraph(changed),
		Components: map[string]ComponentObjects{
			"db":     fxShopDB(),
			"cache":  fxShopCache(),
			"api":    fxShopAPI(),
			"web":    fxShopWeb(changed),
			"worker": fxShopWorker(),
		},
		StackObjects: []Object{
			{Kind: "Namespace", Name: "shop", UID: "uid-ns-shop", Health: "Current"},
			{Kind: "ConfigMap", Name: "web-proxy", Namespace: "shop", UID: "uid-cm-web-proxy", Health: "Current"},
			{Kind: "ConfigMap", Name: "api-settings", Namespace: "shop", UID: "uid-cm-api-settings", Health: "Current"},
			{Kind: "PersistentVolumeClaim", Name: "orders-data", Namespace: "shop", UID: "uid-pvc-orders", Health: "Current",
				Claim: &ClaimInfo{Phase: "Bound", Capacity: "1Gi", StorageClass: "standard", Retained: true}},
		},
		Conditions: []metav1.Condition{
			{Type: "Ready", Status: "False", Reason: "ComponentFailed", LastTransitionTime: metav1.NewTime(fxAgo(18 * time.Minute)),
				Message: `component api: ImagePullBackOff: Back-off pulling image "example/shop-api:1.5.0"`},
			{Type: "Reconciling", Status: "False", Reason: "Applied", Message: "every object applied at generation 3",
				LastTransitionTime: metav1.NewTime(fxAgo(19 * time.Minute))},
			{Type: "Stalled", Status: "True", Reason: "ComponentFailed", Message: "component api failed: ImagePullBackOff",
				LastTransitionTime: metav1.NewTime(fxAgo(18 * time.Minute))},
		},
		Rollback: &appstackv1.RollbackStatus{
			FailedRevision: 3, Revision: 2, Reason: "CrashLoopBackOff", Time: metav1.NewTime(fxAgo(21 * time.Minute)),
			Message: "component worker: container worker restarted 5 times (CrashLoopBackOff) within rollout.failAfter (5m)",
		},
		Revisions: []Revision{
			{Number: 1, Created: fxAgo(3*24*time.Hour + 5*time.Hour), Summary: "db=postgres:16 cache=redis:7 api=example/shop-api:1.4.2 web=nginx:1.25 worker=example/shop-worker:1.4.2"},
			{Number: 2, Created: fxAgo(26 * time.Hour), Current: true, Note: "running instead of the spec's revision 3 (rolled back)",
				Summary: "db=postgres:16 cache=redis:7 api=example/shop-api:1.5.0 web=nginx:1.27 worker=example/shop-worker:1.5.0"},
			{Number: 3, Created: fxAgo(25 * time.Minute), Note: "rolled back automatically: worker CrashLoopBackOff",
				Summary: "db=postgres:16 cache=redis:7 api=example/shop-api:1.5.0 web=nginx:1.27 worker=example/shop-worker:1.5.0"},
		},
		Events: fxShopEvents(changed),
		Actions: []Action{
			{Title: "Roll back to revision 1", Command: "kubectl appstack rollback shop --to-revision 1"},
			{Title: "Show the revision history", Command: "kubectl appstack history shop"},
			{Title: "Delete the stack", Command: "kubectl delete appstack shop"},
		},
		Hidden: []string{
			"secrets in namespace shop: you may not list secrets there (RBAC); the stack's secret references are not checked",
			"nodes: you may not get nodes (RBAC); a pod's node is shown by name only",
		},
	}
	return v
}

func fxShopGraph(changed bool) graph.Graph {
	web := graph.Node{ID: "component/web", Type: graph.NodeComponent, Name: "web", Kind: "Deployment", Phase: "Waiting",
		Reason: "DependencyWaiting", Message: "waiting for api to be Ready", Replicas: 2, ReadyReplicas: 1,
		Images: []string{"nginx:1.27"}, Service: &graph.Service{Type: "LoadBalancer", Ports: []string{"80"},
			ClusterIP: "10.96.40.17", URL: "http://web.shop.svc.cluster.local"}}
	if changed {
		web.Phase, web.Reason, web.Message, web.ReadyReplicas = "Progressing", "ObjectMissing",
			"Deployment web was deleted; the operator is recreating it", 0
	}
	return graph.Graph{Stack: "shop", Namespace: "shop", Nodes: []graph.Node{
		{ID: "component/db", Type: graph.NodeComponent, Name: "db", Kind: "StatefulSet", Phase: "Ready", Replicas: 1, ReadyReplicas: 1,
			Images: []string{"postgres:16"}, Service: &graph.Service{Type: "ClusterIP", Ports: []string{"5432"}, ClusterIP: "10.96.12.4",
				URL: "db.shop.svc.cluster.local:5432"}},
		{ID: "component/cache", Type: graph.NodeComponent, Name: "cache", Kind: "Deployment", Phase: "Ready", Replicas: 1,
			ReadyReplicas: 1, Images: []string{"redis:7"}},
		{ID: "component/api", Type: graph.NodeComponent, Name: "api", Kind: "Deployment", Phase: "Failed", Reason: "ImagePullBackOff",
			Message:  `pod api-7d9f8b6c5d-x2k4p: Back-off pulling image "example/shop-api:1.5.0": manifest unknown`,
			Replicas: 2, Images: []string{"example/shop-api:1.5.0"}},
		web,
		{ID: "component/worker", Type: graph.NodeComponent, Name: "worker", Kind: "Deployment", Phase: "Progressing",
			Reason: "PodsNotReady", Message: "1 of 2 pods ready; worker-5c8d7-qq9lm restarted 4 times", Replicas: 2, ReadyReplicas: 1,
			Images: []string{"example/shop-worker:1.5.0"}},
		{ID: "volume/orders-data", Type: graph.NodeVolume, Name: "orders-data", Phase: "Bound", Size: "1Gi", Retain: true, Capacity: "1Gi"},
		{ID: "config/web-proxy", Type: graph.NodeConfig, Name: "web-proxy"},
		{ID: "config/api-settings", Type: graph.NodeConfig, Name: "api-settings"},
	}, Edges: []graph.Edge{
		{From: "volume/orders-data", To: "component/db", Type: graph.EdgeUses},
		{From: "component/db", To: "component/api", Type: graph.EdgeDependsOn},
		{From: "component/cache", To: "component/api", Type: graph.EdgeDependsOn},
		{From: "config/api-settings", To: "component/api", Type: graph.EdgeUses},
		{From: "component/api", To: "component/web", Type: graph.EdgeDependsOn},
		{From: "config/web-proxy", To: "component/web", Type: graph.EdgeUses},
		{From: "component/db", To: "component/worker", Type: graph.EdgeDependsOn},
		{From: "config/api-settings", To: "component/worker", Type: graph.EdgeUses},
	}}
}

// pod is a pod of one container.
func fxPod(name string, ready, restarts int32, waiting, health, msg string) Object {
	return Object{Kind: "Pod", Name: name, Namespace: "shop", UID: "uid-pod-" + name, Health: health, Message: msg,
		Pod: &PodInfo{Ready: ready, Total: 1, Restarts: restarts, Waiting: waiting, Node: "kind-worker"}}
}

func fxService(name, typ, ip string, ports, external []string, url string) Object {
	return Object{Kind: "Service", Name: name, Namespace: "shop", UID: "uid-svc-" + name, Health: "Current",
		Service: &ServiceInfo{Type: typ, ClusterIP: ip, Ports: ports, URL: url, External: external}}
}

func fxShopDB() ComponentObjects {
	return ComponentObjects{
		Objects: []Object{
			{Kind: "StatefulSet", Name: "db", Namespace: "shop", UID: "uid-sts-db", Health: "Current"},
			fxService("db", "ClusterIP", "10.96.12.4", []string{"5432/TCP"}, nil, "db.shop.svc.cluster.local:5432"),
		},
		Pods: []Object{fxPod("db-0", 1, 0, "", "Running", "")},
	}
}

func fxShopCache() ComponentObjects {
	return ComponentObjects{
		Objects: []Object{
			{Kind: "Deployment", Name: "cache", Namespace: "shop", UID: "uid-deploy-cache", Health: "Current"},
			fxService("cache", "ClusterIP", "10.96.30.2", []string{"6379/TCP"}, nil, "cache.shop.svc.cluster.local:6379"),
		},
		Pods: []Object{fxPod("cache-6b7c9d-lp2vx", 1, 0, "", "Running", "")},
	}
}

func fxShopAPI() ComponentObjects {
	msg := `Back-off pulling image "example/shop-api:1.5.0": manifest unknown`
	return ComponentObjects{
		Objects: []Object{
			{Kind: "Deployment", Name: "api", Namespace: "shop", UID: "uid-deploy-api", Health: "InProgress",
				Message: "Deployment does not have minimum availability (0 of 2 replicas available)"},
			fxService("api", "ClusterIP", "10.96.22.9", []string{"8080/TCP"}, nil, "http://api.shop.svc.cluster.local:8080"),
		},
		Pods: []Object{
			fxPod("api-7d9f8b6c5d-x2k4p", 0, 0, "ImagePullBackOff", "Pending", msg),
			fxPod("api-7d9f8b6c5d-m8n3z", 0, 0, "ImagePullBackOff", "Pending", msg),
		},
	}
}

func fxShopWeb(changed bool) ComponentObjects {
	objs := []Object{
		{Kind: "Deployment", Name: "web", Namespace: "shop", UID: "uid-deploy-web", Health: "Current"},
		fxService("web", "LoadBalancer", "10.96.40.17", []string{"80:30080/TCP"}, []string{"203.0.113.10"}, "http://web.shop.svc.cluster.local"),
		{Kind: "Ingress", Name: "web", Namespace: "shop", UID: "uid-ing-web", Health: "Current",
			Ingress: &IngressInfo{Hosts: []string{"shop.example.com"}, Addresses: []string{"192.168.49.2"}}},
		{Kind: "HorizontalPodAutoscaler", Name: "web", Namespace: "shop", UID: "uid-hpa-web", Health: "Current",
			Autoscaler: &AutoscalerInfo{Current: 2, Desired: 3, Min: 2, Max: 10, Targets: []string{"cpu 72%/50%"}}},
	}
	if changed {
		objs = objs[1:]
	}
	return ComponentObjects{Objects: objs, Pods: []Object{
		fxPod("web-58f6c9b7d4-2jzkq", 1, 0, "", "Running", ""),
		fxPod("web-58f6c9b7d4-h7tcx", 0, 0, "", "Pending", "containers with unready status: [nginx]"),
	}}
}

func fxShopWorker() ComponentObjects {
	return ComponentObjects{
		Objects: []Object{{Kind: "Deployment", Name: "worker", Namespace: "shop", UID: "uid-deploy-worker", Health: "InProgress",
			Message: "1 of 2 replicas available"}},
		Pods: []Object{
			fxPod("worker-5c8d7-qq9lm", 0, 4, "CrashLoopBackOff", "Running",
				"back-off 1m20s restarting failed container=worker; last exit code 1 (Error)"),
			fxPod("worker-5c8d7-zt6w2", 1, 0, "", "Running", ""),
		},
	}
}

func fxShopEvents(changed bool) []Event {
	ev := []Event{
		{Type: "Warning", Reason: "Failed", Object: "Pod/api-7d9f8b6c5d-x2k4p", Count: 12, Last: fxAgo(40 * time.Second),
			Message: `Failed to pull image "example/shop-api:1.5.0": manifest unknown`},
		{Type: "Warning", Reason: "BackOff", Object: "Pod/worker-5c8d7-qq9lm", Count: 31, Last: fxAgo(2 * time.Minute),
			Message: "Back-off restarting failed container worker in pod worker-5c8d7-qq9lm_shop"},
		{Type: "Normal", Reason: "RolledBack", Object: "AppStack/shop", Count: 1, Last: fxAgo(21 * time.Minute),
			Message: "revision 3 failed (CrashLoopBackOff in worker): rolled back to revision 2"},
		{Type: "Normal", Reason: "DependencyWaiting", Object: "AppStack/shop", Count: 3, Last: fxAgo(24 * time.Minute),
			Message: "web waits for api to be Ready"},
		{Type: "Warning", Reason: "Unhealthy", Object: "Pod/web-58f6c9b7d4-h7tcx", Count: 2, Last: fxAgo(30 * time.Minute),
			Message: "Readiness probe failed: " + fxHostile},
		{Type: "Normal", Reason: "SuccessfulRescale", Object: "HorizontalPodAutoscaler/web", Count: 1, Last: fxAgo(50 * time.Minute),
			Message: "New size: 3; reason: cpu resource utilization (percentage of request) above target"},
	}
	if changed {
		ev = append([]Event{{Type: "Normal", Reason: "Created", Object: "AppStack/shop", Count: 1, Last: fxAgo(time.Second),
			Message: "Deployment web was missing: created it again"}}, ev...)
	}
	return ev
}
