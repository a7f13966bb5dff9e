//go:build e2e

// Package e2e runs the demo flow on a throwaway local cluster (hack/dev-cluster.sh:
// real apiserver, scheduler and controllers, kwok nodes) with the operator as a
// process on this machine, and checks what a user would check, with kubectl.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var (
	root       string
	kubeconfig string
	operator   *exec.Cmd
	opLog      *os.File
)

const (
	clusterName = "appstack-e2e"
	// metricsAddr is where the e2e operator serves plain-HTTP metrics (loopback only).
	metricsAddr = "127.0.0.1:18383"
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "e2e suite")
}

var _ = BeforeSuite(func() {
	var err error
	root, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = filepath.Join(root, "bin", clusterName+".kubeconfig")

	By("starting a fresh local cluster " + clusterName)
	_, _ = script("hack/dev-cluster.sh", "down")
	out, err := script("hack/dev-cluster.sh", "up")
	Expect(err).NotTo(HaveOccurred(), out)

	By("installing the CRD")
	Expect(kubectl("apply", "--server-side", "-f", filepath.Join(root, "config", "crd", "bases"))).Error().NotTo(HaveOccurred())
	// A CRD has no status for a moment after it is created, and kubectl wait
	// fails rather than waits on that; retry it.
	Eventually(func() error {
		_, err := kubectl("wait", "--for=condition=Established", "crd/appstacks.apps.appstack.dev", "--timeout=10s")
		return err
	}, 60*time.Second, time.Second).Should(Succeed())

	By("building the operator and the kubectl plugin")
	bin := filepath.Join(root, "bin", "manager-e2e")
	for pkg, out := range map[string]string{"./cmd": bin, "./cmd/kubectl-appstack": filepath.Join(root, "bin", "kubectl-appstack")} {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Dir = root
		b, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(b))
	}

	By("starting the operator")
	opLog, err = os.Create(filepath.Join(root, "bin", clusterName+".manager.log"))
	Expect(err).NotTo(HaveOccurred())
	startOperator()
})

var _ = AfterSuite(func() {
	stopOperator(syscall.SIGKILL)
	if opLog != nil {
		_ = opLog.Close()
	}
	if os.Getenv("E2E_KEEP_CLUSTER") == "" {
		_, _ = script("hack/dev-cluster.sh", "down")
	}
})

var _ = ReportAfterSuite("operator log on failure", func(r Report) {
	if !r.SuiteSucceeded {
		if b, err := os.ReadFile(filepath.Join(root, "bin", clusterName+".manager.log")); err == nil {
			fmt.Fprintf(GinkgoWriter, "---- operator log ----\n%s\n", b)
		}
	}
})

// kubectl runs kubectl against the e2e cluster, as a user would type it.
func kubectl(args ...string) (string, error) {
	cmd := exec.Command("kubectl", args...)
	// bin/ first on the PATH, so `kubectl appstack` finds the plugin built above.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig,
		"PATH="+filepath.Join(root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	fmt.Fprintf(GinkgoWriter, "$ kubectl %s\n%s%s", strings.Join(args, " "), stdout.String(), stderr.String())
	if err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func script(path string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(root, path), args...)
	cmd.Env = append(os.Environ(), "CLUSTER_NAME="+clusterName, "KUBECONFIG_OUT="+kubeconfig)
	out, err := cmd.CombinedOutput()
	fmt.Fprintf(GinkgoWriter, "$ %s %s\n%s", path, strings.Join(args, " "), out)
	return string(out), err
}

// startOperator runs the operator binary against the e2e cluster. A short sync
// period makes full resyncs happen during the suite, so the zero-writes check
// covers them.
func startOperator() {
	GinkgoHelper()
	operator = exec.Command(filepath.Join(root, "bin", "manager-e2e"), "--sync-period=30s",
		"--metrics-bind-address="+metricsAddr, "--metrics-secure=false", "--health-probe-bind-address=0")
	operator.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	operator.Stdout, operator.Stderr = opLog, opLog
	Expect(operator.Start()).To(Succeed())
}

// stopOperator stops the operator with sig and waits for it to exit.
func stopOperator(sig syscall.Signal) {
	if operator == nil || operator.Process == nil {
		return
	}
	_ = operator.Process.Signal(sig)
	_ = operator.Wait()
	operator = nil
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
