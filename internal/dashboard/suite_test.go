package dashboard

// The handler tests run the server against envtest's etcd and kube-apiserver
// (bin/, through KUBEBUILDER_ASSETS; make tools-envtest), with RBAC: the stacks
// and their objects are written by hand, as the operator would have (no operator
// runs), and the server reads them as the admin, as a user bound only to
// appstack-viewer-role, and as one who may also read pods and events in one
// namespace (impersonated).

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/appstack-dev/appstack-operator/test/utils"
)

var (
	root = filepath.Join("..", "..")
	// cfg and admin are envtest's admin's.
	cfg   *rest.Config
	admin client.Client
)

func TestMain(m *testing.M) { os.Exit(utils.RunWithEnvtest(m, root, scheme, setup)) }

// setup keeps envtest's admin configuration and client, and binds the users.
func setup(c *rest.Config, a client.Client) error {
	cfg, admin = c, a
	if err := bindViewer(context.Background()); err != nil {
		return fmt.Errorf("bind the viewer role: %w", err)
	}
	return nil
}

// The impersonated users.
const (
	// userViewer holds config/rbac/appstack_viewer_role.yaml only.
	userViewer = "viewer"
	// userShopper holds the viewer role, and may read pods and events in
	// namespace shop.
	userShopper = "shopper"
)

// bindViewer creates the viewer role as config/rbac has it, binds both users to
// it, and lets the shopper read pods and events in namespace shop.
func bindViewer(ctx context.Context) error {
	b, err := os.ReadFile(filepath.Join(root, "config", "rbac", "appstack_viewer_role.yaml"))
	if err != nil {
		return err
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(b, role); err != nil {
		return err
	}
	subject := func(u string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: u}
	}
	objs := []client.Object{role,
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "viewers"},
			Subjects: []rbacv1.Subject{subject(userViewer), subject(userShopper)},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"pods", "events"}, Verbs: []string{"get", "list", "watch"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "shopper-pods", Namespace: "shop"},
			Subjects: []rbacv1.Subject{subject(userShopper)},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "pod-reader"}},
	}
	if err := createNamespace(ctx, "shop"); err != nil {
		return err
	}
	for _, o := range objs {
		if err := admin.Create(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// as is cfg impersonating user.
func as(user string) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user}
	return c
}

// dash is a dashboard served by httptest, reading the cluster through c.
type dash struct {
	t   *testing.T
	url string
	srv *Server
}

// startDashboard serves a dashboard reading through c, each of tweaks applied
// before it runs.
func startDashboard(t *testing.T, c *rest.Config, tweaks ...func(*Server)) *dash {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	srv, err := New(c, Options{Listen: ts.Listener.Addr().String(), Context: "envtest", Version: "test",
		CommandFlags: []string{"--context=envtest"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tweak := range tweaks {
		tweak(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts.Config.Handler = srv.Handler()
	ts.Config.BaseContext = func(_ net.Listener) context.Context { return ctx }
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	ts.Start()
	t.Cleanup(func() {
		cancel()
		ts.Close()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &dash{t: t, url: ts.URL, srv: srv}
}

// get GETs path and decodes the JSON answer into v; it returns the status code.
func (d *dash) get(path string, v any) int {
	d.t.Helper()
	resp, err := http.Get(d.url + path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		d.t.Fatalf("GET %s: %d, not JSON: %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode
}

// eventually runs check until it returns "" or timeout passes; then fails with
// its last complaint.
func eventually(t *testing.T, timeout time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
