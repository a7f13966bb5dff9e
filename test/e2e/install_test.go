//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// helm runs the project's helm against the e2e cluster.
func helm(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(root, "bin", "helm"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.CombinedOutput()
	GinkgoWriter.Printf("$ helm %s\n%s", strings.Join(args, " "), out)
	return string(out), err
}

var _ = Describe("installing the operator", Ordered, func() {
	BeforeAll(func() {
		// Namespaced objects can only be dry-run into a namespace that exists.
		_, _ = kubectl("create", "namespace", "appstack-system")
	})

	It("passes helm lint", func() {
		out, err := helm("lint", filepath.Join(root, "charts", "appstack-operator"))
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("0 chart(s) failed"))
	})

	It("renders a chart the apiserver accepts (helm template | kubectl apply --dry-run=server)", func() {
		rendered, err := helm("template", "appstack", filepath.Join(root, "charts", "appstack-operator"),
			"--namespace", "appstack-system", "--kube-version", "1.36.3")
		Expect(err).NotTo(HaveOccurred(), rendered)
		f := filepath.Join(GinkgoT().TempDir(), "chart.yaml")
		writeFile(f, rendered)
		out, err := kubectl("apply", "--dry-run=server", "-f", f)
		Expect(err).NotTo(HaveOccurred())
		// created, or configured when another suite has installed the chart already.
		Expect(out).To(MatchRegexp(`deployment.apps/appstack-appstack-operator (created|configured|unchanged) \(server dry run\)`))
		Expect(out).To(MatchRegexp(`clusterrole.rbac.authorization.k8s.io/appstack-appstack-operator (created|configured|unchanged) \(server dry run\)`))
	})

	It("renders a kustomize install the apiserver accepts (kubectl apply -k config/default --dry-run=server)", func() {
		out, err := kubectl("apply", "--dry-run=server", "-k", filepath.Join(root, "config", "default"))
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(MatchRegexp(`deployment.apps/appstack-operator-controller-manager (created|configured|unchanged) \(server dry run\)`))
	})
})

var _ = Describe("metrics", func() {
	BeforeEach(ensureSamples)

	It("serves per-stack ready/total component gauges beside controller-runtime's", func() {
		body := scrape()
		Expect(body).To(ContainSubstring(`appstack_components_ready{stack="gurumee"} 1`))
		Expect(body).To(ContainSubstring(`appstack_components_total{stack="gurumee"} 1`))
		Expect(body).To(ContainSubstring(`controller_runtime_reconcile_total{controller="appstack",result="success"}`))
	})
})

var _ = Describe("kubectl apply -k config/local", Ordered, Label("real-node"), func() {
	const deployment = "appstack-operator-controller-manager"

	BeforeAll(func() {
		if !inCluster() {
			Skip("the cluster has no real node (hack/dev-cluster.sh says why)")
		}
		// Only the kustomize install's operator may write while this runs.
		stopOperator(syscall.SIGTERM)
		DeferCleanup(func() {
			// Everything config/local made but the CRD (deleting it deletes every
			// stack) and the namespace (the chart's release lives there too).
			rendered, err := kubectl("kustomize", filepath.Join(root, "config", "local"))
			Expect(err).NotTo(HaveOccurred())
			var keep []string
			for _, doc := range strings.Split(rendered, "\n---\n") {
				if !strings.Contains(doc, "\nkind: CustomResourceDefinition\n") && !strings.Contains(doc, "\nkind: Namespace\n") {
					keep = append(keep, doc)
				}
			}
			dir, err := os.MkdirTemp("", "e2e-local-")
			Expect(err).NotTo(HaveOccurred())
			defer os.RemoveAll(dir)
			f := filepath.Join(dir, "local.yaml")
			writeFile(f, strings.Join(keep, "\n---\n"))
			Expect(kubectl("delete", "-f", f, "--ignore-not-found", "--wait=true", "--timeout=90s")).Error().NotTo(HaveOccurred())
			startOperator()
		})
	})

	It("runs the operator's two pods on the real node; one leads and reconciles a new stack", func() {
		Expect(kubectl("apply", "--server-side", "--force-conflicts", "-k", filepath.Join(root, "config", "local"))).Error().NotTo(HaveOccurred())
		Expect(kubectl("rollout", "status", "deployment/"+deployment, "-n", opNamespace, "--timeout=120s")).Error().NotTo(HaveOccurred())
		pods, err := kubectl("get", "pods", "-n", opNamespace, "-l", "control-plane=controller-manager", "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.spec.serviceAccountName} {.status.phase}{"\n"}{end}`)
		Expect(err).NotTo(HaveOccurred())
		fmt.Fprintf(GinkgoWriter, "KUSTOMIZE OPERATOR PODS\n%s", pods)
		lines := strings.Split(strings.TrimSpace(pods), "\n")
		Expect(lines).To(HaveLen(2))
		for _, l := range lines {
			Expect(strings.Fields(l)[1:]).To(Equal([]string{realNode, "appstack-operator-controller-manager", "Running"}), l)
		}
		Eventually(func() string {
			holder, _ := kubectl("get", "lease", opLease, "-n", opNamespace, "-o", "jsonpath={.spec.holderIdentity}")
			return holder
		}, 90*time.Second, 500*time.Millisecond).Should(HavePrefix(deployment + "-"))
		apply(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: kustomize-installed}
spec:
  components: [{name: web, containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]}]
`)
		waitReady("stack/kustomize-installed")
		logs, err := kubectl("logs", "-n", opNamespace, "-l", "control-plane=controller-manager", "--tail=-1", "--prefix")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.ToLower(logs)).NotTo(ContainSubstring("forbidden"))
		Expect(kubectl("delete", "stack", "kustomize-installed", "--timeout=60s")).Error().NotTo(HaveOccurred())
	})
})
