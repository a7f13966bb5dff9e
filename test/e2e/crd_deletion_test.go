//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/appstack-dev/appstack-operator/test/utils"
)

// crdDeletion labels the specs that delete the AppStack CRD. That deletes every
// stack of the cluster, so they run only in a run of their own, on a cluster of
// their own: `make test-e2e-crd-deletion`, which selects them alone with
// -ginkgo.label-filter=crd-deletion after `make test-e2e` has run the rest.
const crdDeletion = "crd-deletion"

// aloneInThisRun tells whether the run's label filter selects only labelled specs,
// so that no spec of the shared suite runs on the cluster beside these.
func aloneInThisRun() bool {
	suite, _ := GinkgoConfiguration()
	if suite.LabelFilter == "" {
		return false
	}
	filter, err := types.ParseLabelFilter(suite.LabelFilter)
	return err == nil && !filter(nil) && filter([]string{crdDeletion})
}

// Deletion path "CRD deleted" (docs/ownership.md): an admin deletes the CRD while
// the operator runs. The apiserver deletes every stack; the operator takes each
// apart through its finalizer as on `kubectl delete stack`, so a retained claim and
// its namespace stay (and the CRD, waiting on those finalizers, is gone only once
// the operator let go of every stack). With the CRD installed again, a new stack of
// the same name takes the claim back.
var _ = Describe("deleting the AppStack CRD under the running operator", Ordered, Label(crdDeletion), func() {
	const keep, gone = "crd-gone-keep", "crd-gone-web"
	keepStack := `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: ` + keep + `}
spec:
  configs: [{name: settings, data: {a: b}}]
  volumes: [{name: data, size: 1Gi}]
  components:
  - name: web
    containers: [{name: app, image: nginx:1.27, ports: [{containerPort: 80}], volumeMounts: [{name: data, mountPath: /data}, {name: settings, mountPath: /etc/settings}]}]
    volumes: [{name: data, persistentVolume: data}, {name: settings, config: settings}]
`
	goneStack := `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: ` + gone + `}
spec:
  components:
  - name: web
    containers: [{name: app, image: nginx:1.27, ports: [{containerPort: 80}]}]
`
	var claimUID, namespaceUID string

	BeforeAll(func() {
		if !aloneInThisRun() {
			Skip("deleting the CRD deletes every stack of the cluster: these specs run alone, on a cluster of their own " +
				"(make test-e2e-crd-deletion, or -ginkgo.label-filter=" + crdDeletion + ")")
		}
	})

	It("takes every stack apart through its finalizer and keeps the retained claim and its namespace", func() {
		apply(keepStack)
		apply(goneStack)
		waitReady("stack/"+keep, "stack/"+gone)
		claimUID = get("pvc", "data", "-n", keep, "-o", "jsonpath={.metadata.uid}")
		namespaceUID = get("namespace", keep, "-o", "jsonpath={.metadata.uid}")

		By("deleting the CRD as an admin would: kubectl delete -k config/crd")
		start := time.Now()
		// kubectl waits until the CRD is gone: only once the operator removed the
		// finalizer of every stack.
		Expect(kubectl("delete", "-k", filepath.Join(root, "config", "crd"), "--timeout=180s")).Error().NotTo(HaveOccurred())
		GinkgoWriter.Printf("CRD GONE after %s\n", since(start))
		out, err := kubectl("get", "crd", utils.CRDName, "--ignore-not-found", "-o", "name")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(BeEmpty())

		// The claim, as the finalizer leaves a retained one: the same object, labelled
		// retained so that a stack of the same name takes it back; its namespace stays.
		Expect(get("pvc", "data", "-n", keep, "-o",
			`jsonpath={.metadata.uid} {.status.phase} {.metadata.labels.apps\.appstack\.dev/retained} {.metadata.deletionTimestamp}`)).
			To(Equal(claimUID + " Bound true"))
		Expect(get("namespace", keep, "-o", "jsonpath={.metadata.uid} {.status.phase}")).To(Equal(namespaceUID + " Active"))
		// Everything else the stacks made goes: their workloads, Services and configs,
		// and the namespace that held nothing retained.
		Eventually(func() string {
			return get("deployments,replicasets,pods,services,configmaps,controllerrevisions", "-n", keep,
				"-l", "apps.appstack.dev/stack="+keep, "-o", "name")
		}, time.Minute, time.Second).Should(BeEmpty())
		Eventually(func() string {
			out, _ := kubectl("get", "namespace", gone, "--ignore-not-found", "-o", "name")
			return out
		}, time.Minute, time.Second).Should(BeEmpty())
	})

	It("with the CRD installed again, a new stack of the same name takes the claim back", func() {
		Expect(cluster.ApplyCRD(false, "-k", filepath.Join(root, "config", "crd"))).NotTo(HaveOccurred())
		Expect(cluster.WaitCRDEstablished(time.Minute)).NotTo(HaveOccurred())
		// The apiserver serves the new CRD's resource a moment after it is Established.
		Eventually(func() error { _, err := kubectl("get", "stacks"); return err }, time.Minute, time.Second).Should(Succeed())
		apply(keepStack)
		// The operator's watch on stacks broke with the CRD; it lists again by itself.
		waitReady("stack/" + keep)
		Expect(get("pvc", "data", "-n", keep, "-o", `jsonpath={.metadata.uid} {.status.phase} {.metadata.labels.apps\.appstack\.dev/retained}`)).
			To(Equal(claimUID+" Bound"), "the same claim, no longer labelled retained")
		Expect(get("namespace", keep, "-o", "jsonpath={.metadata.uid}")).To(Equal(namespaceUID))
		pod := get("pods", "-n", keep, "-l", "apps.appstack.dev/component=web", "-o",
			`jsonpath={.items[0].spec.volumes[?(@.name=="data")].persistentVolumeClaim.claimName}`)
		Expect(strings.TrimSpace(pod)).To(Equal("data"))

		Expect(kubectl("delete", "stack", keep, "--timeout=120s")).Error().NotTo(HaveOccurred())
		Expect(kubectl("delete", "namespace", keep, "--wait=false")).Error().NotTo(HaveOccurred())
	})
})
