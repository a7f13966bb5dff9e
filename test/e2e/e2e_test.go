//go:build e2e

package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("the demo flow", Ordered, func() {
	It("runs a real control plane that reports Kubernetes v1.36.3", func() {
		out, err := kubectl("version", "-o", "json")
		Expect(err).NotTo(HaveOccurred())
		var v struct {
			ServerVersion struct{ GitVersion string } `json:"serverVersion"`
		}
		Expect(json.Unmarshal([]byte(out), &v)).To(Succeed())
		Expect(v.ServerVersion.GitVersion).To(Equal("v1.36.3"))
	})

	It("binds a hand-made PVC through the default StorageClass and the PV controller", func() {
		_, err := kubectl("create", "namespace", "pvc-check")
		Expect(err).NotTo(HaveOccurred())
		pvc := filepath.Join(GinkgoT().TempDir(), "pvc.yaml")
		writeFile(pvc, `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: pvc-check}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`)
		Expect(kubectl("apply", "-f", pvc)).Error().NotTo(HaveOccurred())
		Eventually(func() (string, error) {
			return kubectl("get", "pvc", "data", "-n", "pvc-check", "-o", "jsonpath={.status.phase}")
		}, 30*time.Second, 500*time.Millisecond).Should(Equal("Bound"))
	})

	It("brings every sample stack to Ready", func() {
		start := time.Now()
		ensureSamples()
		GinkgoWriter.Printf("samples Ready after %s\n", since(start))
	})

	It("shows NAMESPACE, READY, STATUS, REVISION and AGE in kubectl get stacks, every sample Ready", func() {
		out, err := kubectl("get", "stacks")
		Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(strings.TrimSpace(out), "\n")
		Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "NAMESPACE", "READY", "STATUS", "REVISION", "AGE"}))
		Expect(lines).To(ContainElement(MatchRegexp(`^gurumee\s+gurumee\s+1/1\s+Ready\s+1\s+\S+$`)))
		Expect(lines).To(ContainElement(MatchRegexp(`^count-web\s+count-web\s+1/1\s+Ready\s+1\s+\S+$`)))
		samples, err := filepath.Glob(filepath.Join(root, "config", "samples", "apps_*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		names, err := kubectl("get", "-k", filepath.Join(root, "config", "samples"), "-o", "jsonpath={.items[*].metadata.name}")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Fields(names)).To(HaveLen(len(samples)), "one stack per sample")
		for _, name := range strings.Fields(names) {
			want := "Ready"
			if name == "php-apache" {
				// Its pods are on kwok nodes, which have no metrics: its autoscaler will
				// never scale it, and STATUS says so — at once where the cluster has no
				// metrics API, after status.AutoscalerGrace where it does (the real
				// node's metrics-server), which may have passed if another container
				// applied the samples first. READY still counts it.
				want = "(Ready|MetricsUnavailable|FailedGetResourceMetric)"
			}
			Expect(lines).To(ContainElement(MatchRegexp(`^`+name+`\s+\S+\s+(\d+)/(\d+)\s+`+want+`\s`)), name)
		}
	})

	It("binds the StatefulSet sample's claim", func() {
		Expect(kubectl("get", "pvc", "db-data", "-n", "database", "-o", "jsonpath={.status.phase}")).To(Equal("Bound"))
		Expect(kubectl("get", "stack", "database", "-o", "jsonpath={.status.volumes[0].phase}")).To(Equal("Bound"))
		Expect(kubectl("get", "pod", "db-0", "-n", "database", "-o", "jsonpath={.status.phase}")).To(Equal("Running"))
	})

	It("runs the DaemonSet sample's pod on every node that takes any pod", func() {
		// The real node is tainted; only workloads that tolerate it run there.
		nodes, err := kubectl("get", "nodes", "-l", "!appstack.dev/real-node", "-o", "name")
		Expect(err).NotTo(HaveOccurred())
		out, err := kubectl("get", "pods", "-n", "node-agent", "-o", "jsonpath={range .items[*]}{.spec.nodeName}{\"\\n\"}{end}")
		Expect(err).NotTo(HaveOccurred())
		perNode := map[string]int{}
		for _, n := range strings.Fields(out) {
			perNode[n]++
		}
		Expect(perNode).To(HaveLen(len(strings.Fields(nodes))))
		for n, count := range perNode {
			Expect(count).To(Equal(1), "node %s", n)
		}
	})

	It("completes the Job sample", func() {
		Expect(kubectl("get", "job", "pi", "-n", "pi", "-o", "jsonpath={.status.succeeded}")).To(Equal("1"))
		Expect(kubectl("get", "stack", "pi", "-o", "jsonpath={.status.components[0].phase}")).To(Equal("Ready"))
	})

	It("renders every sample offline with kubectl appstack render, and refuses a broken one", func() {
		samples, err := filepath.Glob(filepath.Join(root, "config", "samples", "apps_*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		for _, f := range samples {
			out, err := kubectl("appstack", "render", "-f", f)
			Expect(err).NotTo(HaveOccurred())
			Expect(out).To(ContainSubstring("kind: Namespace"))
		}
		bad := filepath.Join(GinkgoT().TempDir(), "bad.yaml")
		writeFile(bad, `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: bad}
spec:
  components:
  - name: web
    kind: DaemonSet
    replicas: 3
    containers: [{name: app, image: nginx}]
`)
		_, err = kubectl("appstack", "render", "-f", bad)
		Expect(err).To(MatchError(ContainSubstring("exit status 1")))
		Expect(err).To(MatchError(ContainSubstring("spec.components[0]")))
		Expect(err).To(MatchError(ContainSubstring("replicas: only a Deployment or StatefulSet has replicas")))
	})

	It("records observedGeneration in the status", func() {
		out, err := kubectl("get", "stack", "gurumee", "-o", "jsonpath={.metadata.generation} {.status.observedGeneration} {.status.conditions[?(@.type==\"Ready\")].observedGeneration}")
		Expect(err).NotTo(HaveOccurred())
		f := strings.Fields(out)
		Expect(f).To(HaveLen(3))
		Expect(f[1]).To(Equal(f[0]))
		Expect(f[2]).To(Equal(f[0]))
	})

	It("runs the pods: 3 simple-app replicas, and one pod with both containers ready", func() {
		out, err := kubectl("get", "pods", "-n", "gurumee", "-l", "apps.appstack.dev/component=simple-app",
			"-o", "jsonpath={range .items[*]}{.status.phase}{\"\\n\"}{end}")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Fields(out)).To(Equal([]string{"Running", "Running", "Running"}))

		out, err = kubectl("get", "pods", "-n", "count-web", "-o",
			"jsonpath={range .items[*]}{.status.phase} {range .status.containerStatuses[*]}{.name}={.ready} {end}{\"\\n\"}{end}")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.TrimSpace(out)).To(Equal("Running html-generator=true web-server=true"))
	})

	It("fills the Services' endpoints: simple-app.gurumee:8080 has 3, count-web.count-web:80 has 1", func() {
		Eventually(func(g Gomega) {
			out, err := kubectl("get", "endpointslices", "-n", "gurumee", "-l", "kubernetes.io/service-name=simple-app",
				"-o", "jsonpath={range .items[*].endpoints[*]}{.addresses[0]}{\"\\n\"}{end}")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(strings.Fields(out)).To(HaveLen(3))
			out, err = kubectl("get", "endpointslices", "-n", "gurumee", "-l", "kubernetes.io/service-name=simple-app",
				"-o", "jsonpath={.items[0].ports[0].port}")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(out).To(Equal("8080"))
			out, err = kubectl("get", "endpointslices", "-n", "count-web", "-l", "kubernetes.io/service-name=count-web",
				"-o", "jsonpath={range .items[*].endpoints[*]}{.addresses[0]}{\"\\n\"}{end}")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(strings.Fields(out)).To(HaveLen(1))
		}, 30*time.Second, 500*time.Millisecond).Should(Succeed())
		out, err := kubectl("get", "stack", "gurumee", "-o", "jsonpath={.status.components[0].service.url}")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(Equal("simple-app.gurumee.svc.cluster.local:8080"))
	})

	It("puts a deleted Deployment back within 5 seconds", func() {
		old, err := kubectl("get", "deployment", "simple-app", "-n", "gurumee", "-o", "jsonpath={.metadata.uid}")
		Expect(err).NotTo(HaveOccurred())
		start := time.Now()
		Expect(kubectl("delete", "deployment", "simple-app", "-n", "gurumee")).Error().NotTo(HaveOccurred())
		Eventually(func() (string, error) {
			return kubectl("get", "deployment", "simple-app", "-n", "gurumee", "-o", "jsonpath={.metadata.uid}", "--ignore-not-found")
		}, 5*time.Second, 100*time.Millisecond).Should(And(Not(BeEmpty()), Not(Equal(old))))
		GinkgoWriter.Printf("deployment restored after %s\n", since(start))
		waitReady("stack/gurumee")
	})
})
