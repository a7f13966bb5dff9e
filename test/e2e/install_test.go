//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"

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
