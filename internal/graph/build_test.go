package graph

import (
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// stackFrom reads an AppStack as written, without the CRD's defaults: Build
// must give the renderer's defaults itself (a stack from a file, unvalidated).
func stackFrom(t testing.TB, doc string) *appstackv1.AppStack {
	t.Helper()
	stack := &appstackv1.AppStack{}
	if err := yaml.UnmarshalStrict([]byte(doc), stack); err != nil {
		t.Fatal(err)
	}
	return stack
}

const shop = `
metadata: {name: shop}
spec:
  namespace: {name: shop-prod}
  configs: [{name: settings, data: {a: b}}]
  volumes: [{name: data, size: 2Gi}, {name: cache, size: 1Gi, retain: false}]
  components:
  - name: db
    kind: StatefulSet
    containers: [{name: pg, image: postgres:16, ports: [{containerPort: 5432}]}]
    volumes: [{name: d, persistentVolume: data}]
  - name: api
    dependsOn: [db]
    containers: [{name: app, image: api:1}, {name: proxy, image: envoy:1, ports: [{containerPort: 8080}]}]
    volumes:
    - {name: s, config: settings}
    - {name: s2, config: settings}
    - {name: c, persistentVolume: cache}
    - {name: tmp, emptyDir: {}}
  - name: web
    dependsOn: [api, db]
    containers: [{name: app, image: web:1, ports: [{containerPort: 80}]}]
    service: {type: NodePort, ports: [{port: 80, nodePort: 30080}]}
    volumes: [{name: s, config: settings}]
  - name: migrate
    kind: Job
    dependsOn: [db]
    containers: [{name: m, image: api:1}]
`

// Nodes come in spec order (components, volumes, configs); edges in the order
// of the components that declare them, dependsOn first, then one uses edge per
// stack volume or config mounted (a config mounted twice is one edge).
func TestBuildEdges(t *testing.T) {
	g := Build(stackFrom(t, shop))
	if g.Stack != "shop" || g.Namespace != "shop-prod" {
		t.Errorf("stack %q namespace %q, want shop in shop-prod (spec.namespace.name)", g.Stack, g.Namespace)
	}
	ids := make([]string, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		ids = append(ids, n.ID)
	}
	wantIDs := []string{"component/db", "component/api", "component/web", "component/migrate",
		"volume/data", "volume/cache", "config/settings"}
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Errorf("nodes %v, want %v", ids, wantIDs)
	}
	want := []Edge{
		{From: "volume/data", To: "component/db", Type: EdgeUses},
		{From: "component/db", To: "component/api", Type: EdgeDependsOn},
		{From: "config/settings", To: "component/api", Type: EdgeUses},
		{From: "volume/cache", To: "component/api", Type: EdgeUses},
		{From: "component/api", To: "component/web", Type: EdgeDependsOn},
		{From: "component/db", To: "component/web", Type: EdgeDependsOn},
		{From: "config/settings", To: "component/web", Type: EdgeUses},
		{From: "component/db", To: "component/migrate", Type: EdgeDependsOn},
	}
	if !reflect.DeepEqual(g.Edges, want) {
		t.Errorf("edges:\n%v\nwant:\n%v", g.Edges, want)
	}
}

// Offline (no status) a node has what the spec says, with the renderer's
// defaults: kind Deployment, a Service from the container ports (headless for a
// StatefulSet, none for a Job without a service block), volumes retained unless
// retain: false; no phase, reason or replica counts.
func TestBuildOffline(t *testing.T) {
	g := Build(stackFrom(t, shop))
	byID := nodes(g)
	want := map[string]Node{
		"component/db": {ID: "component/db", Type: NodeComponent, Name: "db", Kind: "StatefulSet",
			Images: []string{"postgres:16"}, Service: &Service{Type: "Headless", Ports: []string{"5432/TCP"}}},
		"component/api": {ID: "component/api", Type: NodeComponent, Name: "api", Kind: "Deployment",
			Images: []string{"api:1", "envoy:1"}, Service: &Service{Type: "ClusterIP", Ports: []string{"8080/TCP"}}},
		"component/web": {ID: "component/web", Type: NodeComponent, Name: "web", Kind: "Deployment",
			Images: []string{"web:1"}, Service: &Service{Type: "NodePort", Ports: []string{"80/TCP"}}},
		"component/migrate": {ID: "component/migrate", Type: NodeComponent, Name: "migrate", Kind: "Job",
			Images: []string{"api:1"}},
		"volume/data":     {ID: "volume/data", Type: NodeVolume, Name: "data", Size: "2Gi", Retain: true},
		"volume/cache":    {ID: "volume/cache", Type: NodeVolume, Name: "cache", Size: "1Gi"},
		"config/settings": {ID: "config/settings", Type: NodeConfig, Name: "settings"},
	}
	for id, w := range want {
		if got := byID[id]; !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\n got %+v\nwant %+v", id, got, w)
		}
	}
}

// With a status, each component carries its phase, cause and replica counts and
// its Service's address; each volume its claim's phase and capacity. A status
// entry for a component or volume the spec no longer has makes no node.
func TestBuildMergesStatus(t *testing.T) {
	stack := stackFrom(t, shop)
	stack.Status = appstackv1.AppStackStatus{
		Components: []appstackv1.ComponentStatus{
			{Name: "api", Kind: appstackv1.KindDeployment, Phase: appstackv1.PhaseFailed, Replicas: 2, ReadyReplicas: 1,
				Reason: "ImagePullBackOff", Message: `container app: image "api:1" cannot be pulled`,
				Service: &appstackv1.ServiceStatus{ClusterIP: "10.96.0.12", Ports: []string{"8080/TCP"},
					URL: "api.shop-prod.svc.cluster.local:8080"}},
			{Name: "db", Phase: appstackv1.PhaseReady, Replicas: 1, ReadyReplicas: 1},
			{Name: "gone", Phase: appstackv1.PhaseReady},
		},
		Volumes: []appstackv1.VolumeStatus{{Name: "data", Phase: "Bound", Capacity: "2Gi"}, {Name: "old", Phase: "Bound"}},
	}
	g := Build(stack)
	if len(g.Nodes) != 7 {
		t.Fatalf("%d nodes, want the spec's 7", len(g.Nodes))
	}
	byID := nodes(g)
	api := byID["component/api"]
	if api.Phase != "Failed" || api.Reason != "ImagePullBackOff" || api.Message != `container app: image "api:1" cannot be pulled` ||
		api.Replicas != 2 || api.ReadyReplicas != 1 {
		t.Errorf("api %+v: want the status's phase, reason, message and 1/2 replicas", api)
	}
	wantSvc := &Service{Type: "ClusterIP", Ports: []string{"8080/TCP"}, ClusterIP: "10.96.0.12",
		URL: "api.shop-prod.svc.cluster.local:8080"}
	if !reflect.DeepEqual(api.Service, wantSvc) {
		t.Errorf("api service %+v, want %+v", api.Service, wantSvc)
	}
	if db := byID["component/db"]; db.Phase != "Ready" || db.Service.ClusterIP != "" {
		t.Errorf("db %+v: want Ready, and no address (the status gives none)", db)
	}
	if web := byID["component/web"]; web.Phase != "" || web.Replicas != 0 {
		t.Errorf("web %+v: the status has no entry for it, want no phase", web)
	}
	if data := byID["volume/data"]; data.Phase != "Bound" || data.Capacity != "2Gi" {
		t.Errorf("volume data %+v: want Bound 2Gi", data)
	}
}

// A reference to a component, volume or config the stack does not declare makes
// no edge (the CRD refuses it; a file read without validation may have it).
func TestBuildSkipsUnknownReferences(t *testing.T) {
	g := Build(stackFrom(t, `
metadata: {name: s}
spec:
  components:
  - name: a
    dependsOn: [ghost]
    containers: [{name: c, image: i}]
    volumes: [{name: v, persistentVolume: nowhere}, {name: w, config: none}, {name: x, secret: creds}]
`))
	if len(g.Nodes) != 1 || len(g.Edges) != 0 {
		t.Errorf("nodes %v edges %v, want the one component and no edge", g.Nodes, g.Edges)
	}
}

func nodes(g Graph) map[string]Node {
	out := map[string]Node{}
	for _, n := range g.Nodes {
		out[n.ID] = n
	}
	return out
}
