//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("installing the operator", Ordered, func() {
	BeforeAll(func() {
		// Namespaced objects can only be dry-run into a namespace that exists.
		_, _ = kubectl("create", "namespace", "appstack-system")
	})

	It("passes helm lint", func() {
		out, err := cluster.Helm("lint", filepath.Join(root, "charts", "appstack-operator"))
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("0 chart(s) failed"))
	})

	It("renders a chart the apiserver accepts (helm template | kubectl apply --dry-run=server)", func() {
		rendered, err := cluster.Helm("template", "appstack", filepath.Join(root, "charts", "appstack-operator"),
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

// The other two installs, checked the same way on the real node: the operator's
// two pods run there, lead and reconcile a new stack with no RBAC error. Both use
// namespace appstack-system and the chart's lease, so they never write beside the
// chart's operator; the chart's is stopped meanwhile anyway.
var _ = Describe("installing without helm", Ordered, Label("real-node"), func() {
	const deployment = "appstack-operator-controller-manager"

	BeforeAll(func() {
		if !inCluster() {
			Skip("the cluster has no real node (hack/dev-cluster.sh says why)")
		}
		stopOperator(syscall.SIGTERM)
		DeferCleanup(startOperator)
	})

	// installed checks the kustomize-made Deployment's pods and their work, then
	// removes everything in rendered but the namespace (the chart's release lives
	// there too). rendered holds no CRD: that is its own install step.
	installed := func(rendered string) {
		GinkgoHelper()
		Expect(rendered).NotTo(ContainSubstring("\nkind: CustomResourceDefinition\n"))
		defer func() {
			var keep []string
			for _, doc := range strings.Split(rendered, "\n---\n") {
				if !strings.Contains(doc, "\nkind: Namespace\n") {
					keep = append(keep, doc)
				}
			}
			dir, err := os.MkdirTemp("", "e2e-install-")
			Expect(err).NotTo(HaveOccurred())
			defer os.RemoveAll(dir)
			f := filepath.Join(dir, "installed.yaml")
			writeFile(f, strings.Join(keep, "\n---\n"))
			Expect(kubectl("delete", "-f", f, "--ignore-not-found", "--wait=true", "--timeout=90s")).Error().NotTo(HaveOccurred())
		}()
		Expect(kubectl("rollout", "status", "deployment/"+deployment, "-n", opNamespace, "--timeout=120s")).Error().NotTo(HaveOccurred())
		// Every pod (a replaced one may still be terminating for a moment) runs on the
		// real node with the installer's ServiceAccount.
		var pods string
		Eventually(func() error {
			var err error
			pods, err = cluster.KubectlQuiet("get", "pods", "-n", opNamespace, "-l", "control-plane=controller-manager", "-o",
				`jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.spec.serviceAccountName} {.status.phase}{"\n"}{end}`)
			if err != nil || strings.TrimSpace(pods) == "" {
				return fmt.Errorf("no pods yet: %v", err)
			}
			for _, l := range strings.Split(strings.TrimSpace(pods), "\n") {
				if f := strings.Fields(l); len(f) != 4 || f[1] != realNode || f[2] != deployment || f[3] != "Running" {
					return fmt.Errorf("pod not Running on %s with ServiceAccount %s: %s", realNode, deployment, l)
				}
			}
			return nil
		}, 2*time.Minute, time.Second).Should(Succeed())
		GinkgoWriter.Printf("OPERATOR PODS\n%s", pods)
		Eventually(func() string { return cluster.LeaseHolder(opNamespace, opLease) }, 90*time.Second, 500*time.Millisecond).Should(HavePrefix(deployment + "-"))
		apply(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: installed-without-helm}
spec:
  components: [{name: web, containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]}]
`)
		waitReady("stack/installed-without-helm")
		logs, err := kubectl("logs", "-n", opNamespace, "-l", "control-plane=controller-manager", "--tail=-1", "--prefix")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.ToLower(logs)).NotTo(ContainSubstring("forbidden"))
		Expect(kubectl("delete", "stack", "installed-without-helm", "--timeout=60s")).Error().NotTo(HaveOccurred())
	}

	It("kubectl apply -k config/crd, then config/local runs the operator's two pods on the real node; one leads and reconciles a new stack", func() {
		rendered, err := kubectl("kustomize", filepath.Join(root, "config", "local"))
		Expect(err).NotTo(HaveOccurred())
		// As the README installs it: the CRD first (here: again, unchanged; forced, as an
		// upgrade is, since the uninstall specs may have left it to the chart), then the operator.
		Expect(cluster.ApplyCRD(true, "-k", filepath.Join(root, "config", "crd"))).NotTo(HaveOccurred())
		Expect(kubectl("apply", "--server-side", "--force-conflicts", "-k", filepath.Join(root, "config", "local"))).Error().NotTo(HaveOccurred())
		installed(rendered)
	})

	It("kubectl apply -f dist/crds.yaml, then dist/install.yaml (hack/release.sh) runs the operator; pinned to the real node, it reconciles a new stack", func() {
		f := releaseFile("install-yaml")
		b, err := os.ReadFile(f)
		Expect(err).NotTo(HaveOccurred())
		Expect(cluster.ApplyCRD(true, "-f", releaseFile("crds-yaml"))).NotTo(HaveOccurred())
		Expect(kubectl("apply", "--server-side", "--force-conflicts", "-f", f)).Error().NotTo(HaveOccurred())
		// The released installer runs anywhere; on this cluster only the real node has
		// the image, so the pods are sent there, as a user of the local cluster would.
		Expect(cluster.PinToRealNode(opNamespace, deployment)).NotTo(HaveOccurred())
		installed(string(b))
	})
})
