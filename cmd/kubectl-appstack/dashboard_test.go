package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/appstack-dev/appstack-operator/internal/dashboard"
)

func TestCheckAddress(t *testing.T) {
	for _, tc := range []struct {
		df     dashboardFlags
		remote bool
		err    string
	}{
		{df: dashboardFlags{address: "127.0.0.1"}},
		{df: dashboardFlags{address: "::1", port: 8080}},
		{df: dashboardFlags{address: "localhost"}},
		{df: dashboardFlags{address: "0.0.0.0"}, err: "--address 0.0.0.0 is not a loopback address: whoever reaches it " +
			"would read the cluster as you, with no login. Pass --allow-remote as well to serve there anyway"},
		{df: dashboardFlags{address: "0.0.0.0", allowRemote: true}, remote: true},
		{df: dashboardFlags{address: "dashboard.example"}, err: `--address "dashboard.example": give an IP address`},
		{df: dashboardFlags{address: "127.0.0.1", port: 70000}, err: "--port 70000: give a port from 1 to 65535"},
	} {
		remote, err := checkAddress(tc.df)
		if tc.err == "" {
			if err != nil || remote != tc.remote {
				t.Errorf("%+v: remote %v, error %v; want remote %v, no error", tc.df, remote, err, tc.remote)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
			t.Errorf("%+v: error %v, want one starting %q", tc.df, err, tc.err)
		}
	}
}

func TestPageURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/",
		"[::]:8080":      "http://[::1]:8080/",
		"[::1]:8080":     "http://[::1]:8080/",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := pageURL(a); got != want {
			t.Errorf("pageURL(%s) = %s, want %s", addr, got, want)
		}
	}
}

// The commands the page offers carry the connection flags given, never a token.
func TestCommandFlags(t *testing.T) {
	g := NewWithT(t)
	cmd := newDashboardCommand(io.Discard, io.Discard)
	g.Expect(cmd.Flags().Parse([]string{"--context", "staging", "--as", "jane", "--as-group", "dev", "--as-group", "ops",
		"--token", "s3cret", "--port", "9000"})).To(Succeed())
	g.Expect(commandFlags(cmd.Flags())).To(Equal([]string{"--as=jane", "--as-group=dev", "--as-group=ops",
		"--context=staging"}))
	g.Expect(commandFlags(pflag.NewFlagSet("none", pflag.ContinueOnError))).To(BeEmpty())

	// A relative kubeconfig is made absolute: the command may be pasted elsewhere.
	cmd = newDashboardCommand(io.Discard, io.Discard)
	g.Expect(cmd.Flags().Parse([]string{"--kubeconfig", "bin/dev.kubeconfig"})).To(Succeed())
	wd, err := os.Getwd()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(commandFlags(cmd.Flags())).To(Equal([]string{"--kubeconfig=" + filepath.Join(wd, "bin", "dev.kubeconfig")}))
}

func TestDashboardUnreachableClusterFailsFast(t *testing.T) {
	g := NewWithT(t)
	cmd := newDashboardCommand(io.Discard, io.Discard)
	cmd.SetArgs([]string{"--server", "http://127.0.0.1:1"})
	start := time.Now()
	err := cmd.ExecuteContext(context.Background())
	g.Expect(err).To(MatchError(ContainSubstring("cannot reach the API server at http://127.0.0.1:1")))
	g.Expect(time.Since(start)).To(BeNumerically("<", 10*time.Second))
}

// kubeconfigFor writes a kubeconfig with one context, name, for cfg.
func kubeconfigFor(t *testing.T, cfg *rest.Config, name string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// The command as a user runs it: it prints where the page is, serves it, and
// stops cleanly when told to.
func TestDashboardServesUntilStopped(t *testing.T) {
	g := NewWithT(t)
	cfg, _ := apiServer(t)
	kubeconfig := kubeconfigFor(t, cfg, "envtest")
	outR, outW := io.Pipe()
	cmd := newDashboardCommand(outW, io.Discard)
	cmd.SetArgs([]string{"--kubeconfig", kubeconfig, "--port", "0"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx); _ = outW.Close() }()

	line, err := bufio.NewReader(outR).ReadString('\n')
	g.Expect(err).NotTo(HaveOccurred())
	m := regexp.MustCompile(`^Dashboard at (http://127\.0\.0\.1:\d+/) \(reading the cluster as (\S+) via context envtest\); ` +
		`Ctrl-C stops it\n$`).FindStringSubmatch(line)
	g.Expect(m).NotTo(BeNil(), "printed %q", line)
	resp, err := http.Get(m[1] + "api/info")
	g.Expect(err).NotTo(HaveOccurred())
	var info dashboard.Info
	g.Expect(json.NewDecoder(resp.Body).Decode(&info)).To(Succeed())
	_ = resp.Body.Close()
	g.Expect(info.User).To(Equal(m[2]))
	g.Expect(info.Context).To(Equal("envtest"))

	// A page following the cluster does not hold the stop up.
	watch, err := http.Get(m[1] + "api/watch")
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = watch.Body.Close() }()
	cancel()
	select {
	case err := <-done:
		g.Expect(err).NotTo(HaveOccurred())
	case <-time.After(5 * time.Second):
		t.Fatal("the dashboard did not stop within 5 s of the signal")
	}
	_, err = http.Get(m[1] + "api/info")
	g.Expect(err).To(HaveOccurred(), "nothing listens once stopped")
}
