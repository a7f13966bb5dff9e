package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
)

// twoClusters is a kubeconfig with contexts a (current) and b, each with its own
// cluster and user.
const twoClusters = `apiVersion: v1
kind: Config
current-context: a
clusters:
- name: a
  cluster: {server: "https://a.example:6443"}
- name: b
  cluster: {server: "https://b.example:6443"}
users:
- name: a
  user: {token: token-a}
- name: b
  user: {token: token-b}
contexts:
- name: a
  context: {cluster: a, user: a}
- name: b
  context: {cluster: b, user: b}
`

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(twoClusters), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// configFrom parses args as a cluster command's flags and builds the client config.
func configFrom(t *testing.T, args ...string) *rest.Config {
	t.Helper()
	var flags clusterFlags
	cmd := &cobra.Command{Use: "status"}
	flags.add(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	cfg, err := flags.restConfig()
	if err != nil {
		t.Fatalf("config from %v: %v", args, err)
	}
	return cfg
}

func TestClusterFlagsSelectKubeconfigContextAndOverrides(t *testing.T) {
	path := writeKubeconfig(t)
	t.Setenv("KUBECONFIG", "")
	tests := []struct {
		name        string
		args        []string
		env         string
		host, token string
		timeout     time.Duration
	}{
		{name: "the kubeconfig's current context", args: []string{"--kubeconfig", path},
			host: "https://a.example:6443", token: "token-a"},
		{name: "--context", args: []string{"--kubeconfig", path, "--context", "b"},
			host: "https://b.example:6443", token: "token-b"},
		{name: "$KUBECONFIG and --context", env: path, args: []string{"--context", "b"},
			host: "https://b.example:6443", token: "token-b"},
		{name: "--cluster and --user", args: []string{"--kubeconfig", path, "--cluster", "b", "--user", "b"},
			host: "https://b.example:6443", token: "token-b"},
		{name: "--server and --token", args: []string{"--kubeconfig", path, "-s", "https://c.example", "--token", "t"},
			host: "https://c.example", token: "t"},
		{name: "--request-timeout", args: []string{"--kubeconfig", path, "--request-timeout", "5s"},
			host: "https://a.example:6443", token: "token-a", timeout: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.env)
			cfg := configFrom(t, tt.args...)
			if cfg.Host != tt.host || cfg.BearerToken != tt.token || cfg.Timeout != tt.timeout {
				t.Errorf("host %q token %q timeout %v, want %q %q %v",
					cfg.Host, cfg.BearerToken, cfg.Timeout, tt.host, tt.token, tt.timeout)
			}
			if cfg.UserAgent != "kubectl-appstack" || cfg.QPS != 50 || cfg.Burst != 300 {
				t.Errorf("user agent %q, QPS %v, burst %d; want kubectl-appstack, 50, 300", cfg.UserAgent, cfg.QPS, cfg.Burst)
			}
			if cfg.Impersonate.UserName != "" || len(cfg.Impersonate.Groups) > 0 {
				t.Errorf("impersonates %+v without --as", cfg.Impersonate)
			}
		})
	}
}

// Without a kubeconfig that names a cluster, the error says so (kubectl's defaults
// would have the client try http://localhost:8080).
func TestClusterFlagsWithoutKubeconfig(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBERNETES_MASTER", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a pod
	var flags clusterFlags
	cmd := &cobra.Command{Use: "status"}
	flags.add(cmd)
	if err := cmd.ParseFlags([]string{"--kubeconfig", empty}); err != nil {
		t.Fatal(err)
	}
	_, err := flags.restConfig()
	if err == nil || !strings.Contains(err.Error(), "load kubeconfig: none found and no --server given") {
		t.Errorf("error %v, want one that says no kubeconfig was found", err)
	}
	if cfg := configFrom(t, "--kubeconfig", empty, "--server", "https://c.example"); cfg.Host != "https://c.example" {
		t.Errorf("with --server: host %q", cfg.Host)
	}
}

func TestClusterFlagsImpersonate(t *testing.T) {
	cfg := configFrom(t, "--kubeconfig", writeKubeconfig(t), "--context", "b",
		"--as", "alice", "--as-group", "dev", "--as-group", "ops", "--as-uid", "42")
	if cfg.Host != "https://b.example:6443" {
		t.Errorf("host %q, want context b's", cfg.Host)
	}
	im := cfg.Impersonate
	if im.UserName != "alice" || !slices.Equal(im.Groups, []string{"dev", "ops"}) || im.UID != "42" {
		t.Errorf("impersonate %+v, want alice in dev and ops, UID 42", im)
	}
}

// The client the flags build sends the impersonation headers with every request,
// under the plugin's user agent.
func TestClusterFlagsImpersonateOnTheWire(t *testing.T) {
	var got http.Header
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"APIVersions","versions":["v1"]}`))
	}))
	defer srv.Close()
	cfg := configFrom(t, "--kubeconfig", writeKubeconfig(t), "--server", srv.URL, "--insecure-skip-tls-verify", "--token", "t",
		"--as", "alice", "--as-group", "dev", "--as-group", "ops")
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(srv.URL + "/api")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got.Get("Impersonate-User") != "alice" || !slices.Equal(got.Values("Impersonate-Group"), []string{"dev", "ops"}) {
		t.Errorf("impersonation headers %v, %v; want alice, [dev ops]", got.Values("Impersonate-User"), got.Values("Impersonate-Group"))
	}
	if got.Get("Authorization") != "Bearer t" || got.Get("User-Agent") != "kubectl-appstack" {
		t.Errorf("Authorization %q, User-Agent %q; want the token and kubectl-appstack", got.Get("Authorization"), got.Get("User-Agent"))
	}
}

// The commands on cluster-scoped AppStacks refuse -n/--namespace, naming it, before
// they contact the cluster (the kubeconfig's server does not exist).
func TestNamespaceFlagRefusedOnStackCommands(t *testing.T) {
	path := writeKubeconfig(t)
	sample := filepath.Join("..", "..", "config", "samples", "apps_v1alpha1_appstack_simple-app.yaml")
	tests := []struct {
		cmd  *cobra.Command
		args []string
	}{
		{newStatusCommand(&bytes.Buffer{}), []string{"shop"}},
		{newHistoryCommand(&bytes.Buffer{}), []string{"shop"}},
		{newGraphCommand(&bytes.Buffer{}), []string{"shop"}},
		{newGraphCommand(&bytes.Buffer{}), []string{"-f", sample}},
		{newRollbackCommand(&bytes.Buffer{}), []string{"shop", "--to-revision", "1"}},
		{newDiffCommand(&bytes.Buffer{}), []string{"-f", sample}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd.Name(), func(t *testing.T) {
			tt.cmd.SetArgs(append(tt.args, "--kubeconfig", path, "-n", "shop"))
			tt.cmd.SetOut(&bytes.Buffer{})
			tt.cmd.SetErr(&bytes.Buffer{})
			err := tt.cmd.Execute()
			want := "kubectl appstack " + tt.cmd.Name() + ` takes no -n/--namespace (given "shop"): AppStacks are cluster-scoped`
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want one that starts %q", err, want)
			}
		})
	}
}
