//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Every way a stack can be deleted keeps its retained data (docs/ownership.md,
// "Every deletion path"): a file written through a retained claim on the real node
// is read back after the stack is deleted and applied again. A foreground
// deletion is what Argo CD's prune does by default; an orphan deletion leaves the
// other children too; an admin removing the finalizer while the operator is down
// is the documented break-glass.
var _ = Describe("every deletion path keeps retained data", Ordered, Label("real-node"), func() {
	BeforeAll(func() {
		if realNode == "" {
			Skip("the cluster has no real node (hack/dev-cluster.sh says why)")
		}
		manifests = GinkgoT().TempDir() // another container's is gone with it
	})

	stackYAML := func(stack string) string {
		return header(stack) + "  - name: web\n" + dataServer("web") + `    volumes: [{name: data, persistentVolume: data}]
` + pin + `  volumes:
  - {name: data, size: 1Gi}
`
	}

	type path struct {
		name   string
		delete func(stack string)
		// orphan: the stack's other children stay too.
		orphan bool
	}
	kubectlDelete := func(cascade string) func(string) {
		return func(stack string) {
			GinkgoHelper()
			Expect(kubectl("delete", "stack", stack, "--cascade="+cascade, "--wait=true", "--timeout=120s")).Error().NotTo(HaveOccurred())
		}
	}
	paths := []path{
		{name: "kubectl delete --cascade=background", delete: kubectlDelete("background")},
		{name: "kubectl delete --cascade=foreground (Argo CD's prune)", delete: kubectlDelete("foreground")},
		{name: "kubectl delete --cascade=orphan", delete: kubectlDelete("orphan"), orphan: true},
		{name: "an admin removing the finalizer while the operator is down", delete: func(stack string) {
			GinkgoHelper()
			stopOperator(0)
			DeferCleanup(func() {
				if inCluster() {
					out, _ := cluster.KubectlQuiet("get", "deployment/"+opDeployment, "-n", opNamespace, "-o", "jsonpath={.spec.replicas}")
					if strings.TrimSpace(out) == "0" {
						startOperator()
					}
				}
			})
			Expect(kubectl("delete", "stack", stack, "--wait=false")).Error().NotTo(HaveOccurred())
			Expect(kubectl("patch", "stack", stack, "--type=json",
				"-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)).Error().NotTo(HaveOccurred())
			Eventually(func() (string, error) {
				return cluster.KubectlQuiet("get", "stack", stack, "--ignore-not-found", "-o", "name")
			}, 60*time.Second, time.Second).Should(BeEmpty())
			// The garbage collector takes what the stack owned; wait for it, then
			// bring the operator back.
			Eventually(func() (string, error) {
				return cluster.KubectlQuiet("get", "deployments,services", "-n", stack, "-o", "name")
			}, 2*time.Minute, time.Second).Should(BeEmpty())
			startOperator()
		}},
	}

	for i, p := range paths {
		It("keeps the file written through a retained claim: "+p.name, func() {
			stack := fmt.Sprintf("del-%d", i)
			ns := stack
			DeferCleanup(deleteStack, stack, ns)
			yaml := stackYAML(stack)
			applyStack(stack, yaml)
			waitStack(stack)
			pod := podOf(ns, "web")
			token := fmt.Sprintf("written before %s at %s", p.name, time.Now().UTC().Format(time.RFC3339Nano))
			Expect(sh(ns, pod, "web", `echo "`+token+`" >/data/proof.txt`)).Error().NotTo(HaveOccurred())
			claimUID, err := kubectl("get", "pvc", "-n", ns, "data", "-o", "jsonpath={.metadata.uid}")
			Expect(err).NotTo(HaveOccurred())
			nsUID, err := kubectl("get", "namespace", ns, "-o", "jsonpath={.metadata.uid}")
			Expect(err).NotTo(HaveOccurred())

			p.delete(stack)
			Expect(kubectl("get", "stack", stack, "--ignore-not-found", "-o", "name")).To(BeEmpty())

			// The namespace and the claim stay, and nothing comes for them later: a
			// garbage collection that could delete the namespace does it within
			// seconds of the stack's deletion.
			Consistently(func(g Gomega) {
				out, err := cluster.KubectlQuiet("get", "namespace", ns, "-o", "jsonpath={.metadata.uid} {.status.phase} {.metadata.ownerReferences}")
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(strings.TrimSpace(out)).To(Equal(nsUID+" Active"), "namespace %s after the deletion", ns)
				out, err = cluster.KubectlQuiet("get", "pvc", "-n", ns, "data", "-o", "jsonpath={.metadata.uid} {.status.phase} {.metadata.deletionTimestamp}")
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(strings.TrimSpace(out)).To(Equal(claimUID+" Bound"), "claim data after the deletion")
			}, 15*time.Second, time.Second).Should(Succeed())
			left, err := kubectl("get", "deployments,services,pvc", "-n", ns, "-o", "name")
			Expect(err).NotTo(HaveOccurred())
			say("%s: stack gone; namespace %s (uid %s) Active; claim data (uid %s) Bound; left in the namespace: %s",
				p.name, ns, nsUID, claimUID, strings.Join(strings.Fields(left), " "))
			if p.orphan {
				Expect(left).To(ContainSubstring("deployment.apps/web"), "an orphan deletion leaves the stack's other children")
				Expect(left).To(ContainSubstring("service/web"))
				out := fetch(ns, podOf(ns, "web"), "web", "cat /data/proof.txt")
				Expect(strings.TrimSpace(out)).To(Equal(token))
				say("%s: the orphaned pod still serves the file: %q", p.name, strings.TrimSpace(out))
				// What docs/ownership.md says to do before the stack comes back: the
				// orphaned objects are no longer the stack's.
				Expect(kubectl("delete", "deployment,service", "-n", ns, "-l", "apps.appstack.dev/stack="+stack, "--wait=true")).Error().NotTo(HaveOccurred())
			} else {
				Expect(left).NotTo(ContainSubstring("deployment.apps/web"))
			}

			applyStack(stack, yaml)
			waitStack(stack)
			out := fetch(ns, podOf(ns, "web"), "web", "cat /data/proof.txt")
			Expect(strings.TrimSpace(out)).To(Equal(token))
			Expect(kubectl("get", "pvc", "-n", ns, "data", "-o", "jsonpath={.metadata.uid}")).To(Equal(claimUID))
			events, _ := kubectl("get", "events", "-A", "--field-selector", "reason=TookBack", "-o",
				`jsonpath={range .items[*]}{.message}{"\n"}{end}`)
			Expect(events).To(ContainSubstring("took back Namespace " + ns + " and its data"))
			say("%s: stack applied again; it took back namespace and claim (uid %s) and reads %q", p.name, claimUID, strings.TrimSpace(out))
		})
	}
})

// The one path that loses data is the one the user asks for by name: deleting the
// namespace deletes everything in it, claims included (Kubernetes does it, not the
// operator). The stack then makes its namespace and an empty claim again.
var _ = Describe("a namespace deleted by hand", func() {
	It("takes its claims with it, and the stack makes the namespace and a new claim again", func() {
		const stack = "del-ns"
		DeferCleanup(deleteStack, stack, stack)
		manifests = GinkgoT().TempDir() // another container's is gone with it
		applyStack(stack, header(stack)+`  - name: web
    containers: [{name: web, image: nginx}]
    volumes: [{name: data, persistentVolume: data}]
  volumes:
  - {name: data, size: 1Gi}
`)
		waitStack(stack)
		claimUID, err := kubectl("get", "pvc", "-n", stack, "data", "-o", "jsonpath={.metadata.uid}")
		Expect(err).NotTo(HaveOccurred())
		Expect(kubectl("delete", "namespace", stack, "--wait=true", "--timeout=120s")).Error().NotTo(HaveOccurred())
		waitStack(stack)
		newUID, err := kubectl("get", "pvc", "-n", stack, "data", "-o", "jsonpath={.metadata.uid}")
		Expect(err).NotTo(HaveOccurred())
		Expect(newUID).NotTo(Equal(claimUID), "the claim went with its namespace")
		say("namespace %s deleted by hand: claim data %s went with it; the stack is Ready again with a new claim %s", stack, claimUID, newUID)
	})
})
