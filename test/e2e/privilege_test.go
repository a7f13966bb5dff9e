//go:build e2e

package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// tokenOperator is an operator process that talks to the cluster with nothing but
// the chart's ServiceAccount token.
type tokenOperator struct {
	cmd *exec.Cmd
	log string
}

func startTokenOperator(name, kubeconfigPath string, metricsPort, probePort int) *tokenOperator {
	GinkgoHelper()
	logPath := filepath.Join(root, "bin", clusterName+"."+name+".log")
	f, err := os.Create(logPath)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(filepath.Join(root, "bin", "manager-e2e"),
		"--leader-elect", "--leader-election-namespace=appstack-system",
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metricsPort), "--metrics-secure=true",
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probePort))
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfigPath)
	cmd.Stdout, cmd.Stderr = f, f
	Expect(cmd.Start()).To(Succeed())
	return &tokenOperator{cmd: cmd, log: logPath}
}

func (o *tokenOperator) logText() string {
	b, _ := os.ReadFile(o.log)
	return string(b)
}

func (o *tokenOperator) kill() {
	if o != nil && o.cmd.Process != nil {
		_ = o.cmd.Process.Signal(syscall.SIGKILL)
		_ = o.cmd.Wait()
	}
}

func (o *tokenOperator) leading() bool {
	return strings.Contains(strings.ToLower(o.logText()), "successfully acquired lease")
}

var _ = Describe("least privilege, proven on the cluster, and leader election", Ordered, func() {
	var a, b *tokenOperator
	var tokenKubeconfig string

	BeforeAll(func() {
		ensureSamples()
		// Only the operators of this container may write while it runs.
		stopOperator(syscall.SIGTERM)
		// The suite installed the CRD with kubectl already; the chart leaves it be.
		out, err := helm("upgrade", "--install", "appstack", filepath.Join(root, "charts", "appstack-operator"),
			"--namespace", "appstack-system", "--create-namespace", "--set", "installCRDs=false")
		Expect(err).NotTo(HaveOccurred(), out)

		token, err := kubectl("create", "token", "appstack-appstack-operator", "-n", "appstack-system", "--duration=1h")
		Expect(err).NotTo(HaveOccurred())
		server, err := kubectl("config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
		Expect(err).NotTo(HaveOccurred())
		ca, err := kubectl("config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}")
		Expect(err).NotTo(HaveOccurred())
		tokenKubeconfig = filepath.Join(root, "bin", clusterName+".token.kubeconfig")
		writeFile(tokenKubeconfig, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: %q, certificate-authority-data: %s}}]
users: [{name: operator, user: {token: %s}}]
contexts: [{name: operator, context: {cluster: e2e, user: operator}}]
current-context: operator
`, server, ca, strings.TrimSpace(token)))
	})

	AfterAll(func() {
		a.kill()
		b.kill()
		startOperator()
	})

	It("runs the operator with only the chart's ServiceAccount token: stacks converge, no RBAC errors", func() {
		a = startTokenOperator("token-a", tokenKubeconfig, 18443, 18081)
		Eventually(a.leading, 30*time.Second, 200*time.Millisecond).Should(BeTrue())
		manyStacks("rbac", 5)
		apply(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: rbac-everything}
spec:
  configs: [{name: cfg, data: {a: b}}]
  volumes: [{name: data, size: 1Gi}]
  components:
  - name: db
    kind: StatefulSet
    containers: [{name: pg, image: postgres, ports: [{containerPort: 5432}], volumeMounts: [{name: data, mountPath: /data}]}]
    volumes: [{name: data, persistentVolume: data}]
    podDisruptionBudget: {maxUnavailable: 1}
  - name: web
    dependsOn: [db]
    containers: [{name: app, image: nginx, ports: [{containerPort: 80}], volumeMounts: [{name: cfg, mountPath: /cfg}]}]
    volumes: [{name: cfg, config: cfg}]
    ingress: {host: rbac.example.com}
    autoscaling: {maxReplicas: 3, targetCPUUtilizationPercentage: 80}
  - {name: agent, kind: DaemonSet, containers: [{name: a, image: busybox}]}
  - {name: once, kind: Job, containers: [{name: j, image: busybox}]}
  - {name: cron, kind: CronJob, schedule: "*/10 * * * *", containers: [{name: c, image: busybox}]}
  - {name: solo, kind: Pod, containers: [{name: p, image: busybox}]}
`)
		waitReady(append(stackRefs(numbered("rbac", 5)...), "stack/rbac-everything")...)
		Expect(kubectl("delete", "stack", "rbac-00", "--timeout=60s")).Error().NotTo(HaveOccurred())
		log := a.logText()
		Expect(log).NotTo(ContainSubstring("forbidden"), "RBAC errors in the operator's log")
		Expect(log).NotTo(ContainSubstring("Forbidden"))
	})

	It("serves metrics only to an authorized token, with the per-stack gauges", func() {
		Expect(kubectl("create", "serviceaccount", "scraper", "-n", "appstack-system")).Error().NotTo(HaveOccurred())
		Expect(kubectl("create", "clusterrolebinding", "scraper-metrics", "--clusterrole=appstack-appstack-operator-metrics-reader",
			"--serviceaccount=appstack-system:scraper")).Error().NotTo(HaveOccurred())
		token, err := kubectl("create", "token", "scraper", "-n", "appstack-system")
		Expect(err).NotTo(HaveOccurred())
		// The operator's self-signed serving certificate; loopback only.
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		get := func(tok string) (int, string) {
			req, _ := http.NewRequest(http.MethodGet, "https://127.0.0.1:18443/metrics", nil)
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
			}
			resp, err := c.Do(req)
			Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}
		code, _ := get("")
		Expect(code).To(Equal(http.StatusUnauthorized))
		code, body := get(token)
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(ContainSubstring(`appstack_components_ready{stack="rbac-everything"} 6`))
		Expect(body).To(ContainSubstring(`appstack_components_total{stack="rbac-everything"} 6`))
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, `appstack_components_`) && strings.Contains(l, "gurumee") {
				fmt.Fprintf(GinkgoWriter, "SCRAPED %s\n", l)
			}
		}
	})

	It("elects one leader of two; a SIGKILLed leader is replaced and a new stack converges", func() {
		b = startTokenOperator("token-b", tokenKubeconfig, 18444, 18082)
		Consistently(b.leading, 5*time.Second, 250*time.Millisecond).Should(BeFalse(), "only one leader")
		Expect(b.logText()).NotTo(ContainSubstring("Starting workers"), "the standby must not reconcile")

		killed := time.Now()
		a.kill()
		Eventually(b.leading, 60*time.Second, 100*time.Millisecond).Should(BeTrue())
		takeover := time.Since(killed)
		fmt.Fprintf(GinkgoWriter, "TAKEOVER after %s\n", takeover.Round(100*time.Millisecond))
		AddReportEntry("leader takeover", takeover.Round(100*time.Millisecond).String())

		apply(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: after-takeover}
spec:
  components: [{name: web, containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]}]
`)
		waitReady("stack/after-takeover")
		Expect(b.logText()).NotTo(ContainSubstring("forbidden"))
	})
})
