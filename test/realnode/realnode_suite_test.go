//go:build realnode

// Package realnode proves the stacks on live containers: a local cluster with one
// real node (containerd, kubelet, kube-proxy, CoreDNS in a network namespace; see
// hack/real-node.sh) and the operator running as a process on this machine. Every
// stack is applied with kubectl as a user would, pinned to the real node, and each
// spec prints what it saw. test/realnode/run.sh (make test-real-node) starts the
// cluster and the operator and tears them down; this suite only uses them.
package realnode

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var (
	root       string
	kubeconfig string
	nodeName   string
	manifests  string
)

func TestRealNode(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "real node suite")
}

var _ = BeforeSuite(func() {
	var err error
	root, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	cluster := os.Getenv("CLUSTER_NAME")
	if cluster == "" {
		cluster = "appstack-realnode"
	}
	kubeconfig = os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		kubeconfig = filepath.Join(root, "bin", cluster+".kubeconfig")
	}
	nodeName = cluster + "-real"
	manifests = GinkgoT().TempDir()
	By("checking that the real node is Ready (make test-real-node starts it)")
	Expect(kubectl("wait", "--for=condition=Ready", "node/"+nodeName, "--timeout=30s")).Error().NotTo(HaveOccurred())
})

// kubectl runs kubectl against the cluster, as a user would type it, and logs the
// command and its output.
func kubectl(args ...string) (string, error) {
	return kubectlQuiet(true, args...)
}

func kubectlQuiet(verbose bool, args ...string) (string, error) {
	cmd := exec.Command("kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig,
		"PATH="+filepath.Join(root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if verbose {
		shown := stdout.String() + stderr.String()
		if shown != "" && !strings.HasSuffix(shown, "\n") {
			shown += "\n"
		}
		fmt.Fprintf(GinkgoWriter, "$ kubectl %s\n%s", strings.Join(args, " "), shown)
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// applyStack writes yaml to a file and applies it with kubectl apply -f, as a user would.
func applyStack(name, yaml string) {
	GinkgoHelper()
	path := filepath.Join(manifests, name+".yaml")
	Expect(os.WriteFile(path, []byte(yaml), 0o600)).To(Succeed())
	fmt.Fprintf(GinkgoWriter, "---- %s ----\n%s", path, yaml)
	Expect(kubectl("apply", "-f", path)).Error().NotTo(HaveOccurred())
}

// waitReady waits for a stack's Ready condition; a stack without status yet makes
// kubectl wait fail rather than wait, so that is retried.
func waitReady(stack string, limit time.Duration) {
	GinkgoHelper()
	Eventually(func() error {
		_, err := kubectl("wait", "--for=condition=Ready", "stack/"+stack, "--timeout=20s")
		return err
	}, limit, time.Second).Should(Succeed())
}

// deleteStack removes a stack and waits for its namespace to go.
func deleteStack(stack, ns string) {
	_, _ = kubectl("delete", "stack", stack, "--ignore-not-found", "--wait=true", "--timeout=60s")
	_, _ = kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=60s")
}

// podOf is the name of a Running pod of a component on the real node.
func podOf(ns, component string) string {
	GinkgoHelper()
	var pod string
	Eventually(func() error {
		out, err := kubectlQuiet(false, "get", "pods", "-n", ns, "-l", "apps.appstack.dev/component="+component,
			"--field-selector=status.phase=Running", "-o",
			`jsonpath={range .items[*]}{.metadata.deletionTimestamp}|{.metadata.name}|{.spec.nodeName}{"\n"}{end}`)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(out, "\n") {
			f := strings.Split(l, "|")
			if len(f) == 3 && f[0] == "" && f[2] == nodeName {
				pod = f[1]
				return nil
			}
		}
		return fmt.Errorf("no running pod of %s/%s on %s yet: %q", ns, component, nodeName, out)
	}, 90*time.Second, 500*time.Millisecond).Should(Succeed())
	return pod
}

// sh runs a shell command in a container of a pod with kubectl exec.
func sh(ns, pod, container, script string) (string, error) {
	return kubectl("exec", "-n", ns, pod, "-c", container, "--", "sh", "-c", script)
}

// fetch retries a shell command in a pod until it succeeds (a Service's endpoints
// and DNS record follow a pod becoming Ready by a moment) and returns its output.
func fetch(ns, pod, container, script string) string {
	GinkgoHelper()
	var out string
	Eventually(func() error {
		var err error
		out, err = sh(ns, pod, container, script)
		return err
	}, 60*time.Second, time.Second).Should(Succeed())
	return out
}

// say prints evidence.
func say(format string, args ...any) {
	fmt.Fprintf(GinkgoWriter, "EVIDENCE: "+format+"\n", args...)
}

func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }

// pin places a component on the real node; it is indented for a component entry.
const pin = `    nodeSelector: {appstack.dev/real-node: "true"}
    tolerations: [{key: appstack.dev/real-node, operator: Exists, effect: NoSchedule}]
`

// client is a component that only sleeps: the pod requests are made from.
const client = `  - name: client
    containers:
    - name: client
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"]
` + pin
