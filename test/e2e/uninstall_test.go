//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/appstack-dev/appstack-operator/test/utils"
)

// releaseFile writes one of the release's manifests (hack/release.sh install-yaml
// or crds-yaml) into a temporary file and returns its path.
func releaseFile(what string) string {
	GinkgoHelper()
	f := filepath.Join(GinkgoT().TempDir(), what+".yaml")
	out, err := utils.Run(GinkgoWriter, root, nil, filepath.Join(root, "hack", "release.sh"), what, f)
	Expect(err).NotTo(HaveOccurred(), out)
	return f
}

// The CRD is its own install step (config/crd, dist/crds.yaml): deleting it deletes
// every AppStack, so the operator's uninstall commands must never name it
// (README.md, "Installing into a cluster").
var _ = Describe("the operator's uninstall commands", func() {
	BeforeEach(func() {
		// A server dry run of a delete names only the objects that exist: the CRD does
		// (the suite installed it), and so does the operator's namespace.
		_, _ = kubectl("create", "namespace", opNamespace)
		Expect(kubectl("get", "crd", utils.CRDName)).Error().NotTo(HaveOccurred())
	})

	It("kubectl delete -k config/default names no CustomResourceDefinition (server dry run)", func() {
		out, err := kubectl("delete", "-k", filepath.Join(root, "config", "default"), "--dry-run=server", "--ignore-not-found")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring(`namespace "appstack-system" deleted (server dry run)`), "the dry run deletes the operator")
		Expect(strings.ToLower(out)).NotTo(ContainSubstring("customresourcedefinition"))
	})

	It("kubectl delete -f install.yaml (hack/release.sh) names no CustomResourceDefinition (server dry run); crds.yaml holds the CRD", func() {
		out, err := kubectl("delete", "-f", releaseFile("install-yaml"), "--dry-run=server", "--ignore-not-found")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring(`namespace "appstack-system" deleted (server dry run)`), "the dry run deletes the operator")
		Expect(strings.ToLower(out)).NotTo(ContainSubstring("customresourcedefinition"))

		out, err = kubectl("apply", "--server-side", "--dry-run=server", "-f", releaseFile("crds-yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(Equal("customresourcedefinition.apiextensions.k8s.io/" + utils.CRDName + " serverside-applied (server dry run)\n"))
	})
})

// keptObjects is what uninstalling the operator must leave alone: the CRD, each
// stack, each stack's namespace and everything in it, by kind/namespace/name, with
// its UID and its deletion timestamp (none).
func keptObjects(stacks ...string) map[string]string {
	GinkgoHelper()
	const item = `{.kind}/{.metadata.namespace}/{.metadata.name} {.metadata.uid} {.metadata.deletionTimestamp}{"\n"}`
	objects := map[string]string{}
	add := func(args ...string) {
		GinkgoHelper()
		out, err := cluster.KubectlQuiet(append(append([]string{"get"}, args...), "-o", "jsonpath={range .items[*]}"+item+"{end}")...)
		Expect(err).NotTo(HaveOccurred())
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if k, v, ok := strings.Cut(l, " "); ok {
				objects[k] = v
			}
		}
	}
	crd, err := cluster.KubectlQuiet("get", "crd", utils.CRDName, "-o", "jsonpath="+item)
	Expect(err).NotTo(HaveOccurred(), "the AppStack CRD is gone")
	k, v, _ := strings.Cut(strings.TrimSpace(crd), " ")
	objects[k] = v
	add(append([]string{"stacks"}, stacks...)...)
	add(append([]string{"namespaces"}, stacks...)...)
	for _, ns := range stacks {
		// ControllerRevisions are left out: the operator adds one per spec change.
		add("deployments,replicasets,pods,services,configmaps,persistentvolumeclaims", "-n", ns)
	}
	return objects
}

// unchanged lists the objects of before that are gone, replaced or being deleted
// in after.
func unchanged(before, after map[string]string) []string {
	var changed []string
	for k, v := range before {
		if after[k] != v {
			changed = append(changed, fmt.Sprintf("%s: uid and deletion %q -> %q", k, v, after[k]))
		}
	}
	sort.Strings(changed)
	return changed
}

// uninstallPath is one documented way to install the operator, and its documented
// uninstall. The CRD is installed before (its own step) and stays.
type uninstallPath struct {
	name       string
	deployment string // the operator's Deployment
	install    func()
	uninstall  func() error
}

var uninstallPaths = []uninstallPath{
	{
		name: "helm", deployment: opDeployment,
		install: func() {
			GinkgoHelper()
			args := []string{"upgrade", "--install", opRelease, filepath.Join(root, "charts", "appstack-operator"),
				"--namespace", opNamespace, "--create-namespace", "--set", "installCRDs=true",
				// The chart owns the CRD, as when it installed it: the suite applied it with
				// kubectl, so helm takes it over.
				"--take-ownership", "--wait", "--timeout", "180s"}
			if inCluster() {
				args = append(args, "-f", filepath.Join(root, "hack", "real-node-values.yaml"))
			}
			Expect(cluster.Helm(args...)).Error().NotTo(HaveOccurred())
			out, err := kubectl("get", "crd", utils.CRDName, "-o", `jsonpath={.metadata.annotations.meta\.helm\.sh/release-name} {.metadata.annotations.helm\.sh/resource-policy}`)
			Expect(err).NotTo(HaveOccurred())
			Expect(out).To(Equal(opRelease+" keep"), "the chart's release owns the CRD and keeps it")
		},
		uninstall: func() error {
			_, err := cluster.Helm("uninstall", opRelease, "--namespace", opNamespace, "--wait", "--timeout", "180s")
			return err
		},
	},
	{
		name: "kustomize", deployment: "appstack-operator-controller-manager",
		install: func() {
			GinkgoHelper()
			// config/local is config/default pinned to the real node, which alone has the image.
			dir := "default"
			if inCluster() {
				dir = "local"
			}
			Expect(kubectl("apply", "--server-side", "--force-conflicts", "-k", filepath.Join(root, "config", dir))).Error().NotTo(HaveOccurred())
		},
		uninstall: func() error {
			_, err := kubectl("delete", "-k", filepath.Join(root, "config", "default"), "--wait=true", "--timeout=180s")
			return err
		},
	},
	{
		name: "install.yaml", deployment: "appstack-operator-controller-manager",
		install: func() {
			GinkgoHelper()
			Expect(kubectl("apply", "--server-side", "--force-conflicts", "-f", releaseFile("install-yaml"))).Error().NotTo(HaveOccurred())
			if inCluster() {
				Expect(kubectl("patch", "deployment", "appstack-operator-controller-manager", "-n", opNamespace, "--type=strategic", "-p",
					`{"spec":{"template":{"spec":{"nodeSelector":{"appstack.dev/real-node":"true"},"tolerations":[{"key":"appstack.dev/real-node","operator":"Exists","effect":"NoSchedule"}]}}}}`)).
					Error().NotTo(HaveOccurred())
			}
		},
		uninstall: func() error {
			_, err := kubectl("delete", "-f", releaseFile("install-yaml"), "--wait=true", "--timeout=180s")
			return err
		},
	},
}

// Deletion path "operator uninstalled" (docs/ownership.md): each documented
// uninstall leaves the CRD, every stack, their objects and their retained claims
// exactly as they were, and the operator installed again picks them up without
// recreating anything. With the real node the operator of each install runs as pods
// there; without it the installs' pods are simulated and the operator "installed"
// is the suite's process, started once the install is applied and stopped before it
// is uninstalled.
var _ = Describe("uninstalling the operator", Ordered, func() {
	stacks := []string{"uninstall-keep", "uninstall-web"}
	stack := func(name, round string) string {
		return fmt.Sprintf(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: %s}
spec:
  configs: [{name: settings, data: {round: %q}}]
  volumes: [{name: data, size: 1Gi}]
  components:
  - name: web
    containers: [{name: app, image: nginx:1.27, ports: [{containerPort: 80}], volumeMounts: [{name: data, mountPath: /data}]}]
    volumes: [{name: data, persistentVolume: data}]
`, name, round)
	}
	var before map[string]string
	round := "start" // the stacks' config, changed after each uninstall

	// restore gives the suite its operator back: the chart as the suite installs it,
	// or the process (stopped first: starting it twice would run two).
	restored := true
	restore := func() {
		GinkgoHelper()
		if restored {
			return
		}
		if p, ok := op.(*podOperator); ok {
			p.installChart()
		} else {
			_, _ = kubectl("create", "namespace", opNamespace)
			stopOperator(syscall.SIGTERM)
			startOperator()
		}
		restored = true
	}

	// running waits until the operator of deployment leads (pods on the real node),
	// or starts the suite's process.
	running := func(deployment string) {
		GinkgoHelper()
		if !inCluster() {
			stopOperator(syscall.SIGTERM)
			startOperator()
			return
		}
		Expect(kubectl("rollout", "status", "deployment/"+deployment, "-n", opNamespace, "--timeout=180s")).Error().NotTo(HaveOccurred())
		Eventually(func() string { pod, _ := cluster.Leader(opNamespace, opLease); return pod }, 2*time.Minute, time.Second).Should(HavePrefix(deployment+"-"), "no running pod of %s leads", deployment)
	}

	// converged waits until each stack is Ready at its current generation with
	// config round, and nothing of before was replaced.
	converged := func(round string) {
		GinkgoHelper()
		for _, s := range stacks {
			Eventually(func() string {
				out, _ := cluster.KubectlQuiet("get", "stack", s, "-o",
					`jsonpath={.metadata.generation} {.status.observedGeneration} {.status.conditions[?(@.type=="Ready")].status}`)
				cm, _ := cluster.KubectlQuiet("get", "configmap", "settings", "-n", s, "-o", "jsonpath={.data.round}")
				f := strings.Fields(out)
				if len(f) != 3 || f[0] != f[1] {
					return "generation and observedGeneration: " + out
				}
				return "Ready " + f[2] + ", round " + cm
			}, 2*time.Minute, time.Second).Should(Equal("Ready True, round "+round), "stack %s", s)
		}
		Expect(unchanged(before, keptObjects(stacks...))).To(BeEmpty(), "objects replaced or deleted")
	}

	BeforeAll(func() {
		for _, s := range stacks {
			apply(stack(s, round))
		}
		waitReady(utils.StackRefs(stacks...)...)
		before = keptObjects(stacks...)
		Expect(before).To(HaveKey("PersistentVolumeClaim/uninstall-keep/data"))
		GinkgoWriter.Printf("KEPT OBJECTS: %d\n", len(before))
		// The suite's operator stops; each install below brings its own, and first
		// converges what changed while none ran.
		stopOperator(syscall.SIGTERM)
		restored = false
		round = "operator-stopped"
		for _, s := range stacks {
			apply(stack(s, round))
		}
		DeferCleanup(func() {
			restore()
			for _, s := range stacks {
				_, _ = kubectl("delete", "stack", s, "--timeout=120s")
				_, _ = kubectl("delete", "namespace", s, "--wait=false")
			}
		})
	})

	for _, path := range uninstallPaths {
		It(fmt.Sprintf("with %s: the uninstall leaves the CRD, every stack, their objects and the retained claim; installed again, the operator converges them without recreating anything", path.name), func() {
			By("installing the operator with " + path.name)
			path.install()
			running(path.deployment)
			converged(round)
			if !inCluster() {
				stopOperator(syscall.SIGTERM)
			}

			By("uninstalling it with " + path.name)
			err := path.uninstall()
			// Anything the uninstall deleted would be on its way out by now.
			time.Sleep(3 * time.Second)
			Expect(unchanged(before, keptObjects(stacks...))).To(BeEmpty(), "the uninstall deleted these")
			Expect(err).NotTo(HaveOccurred())
			Eventually(func() (string, error) {
				return kubectl("get", "pods", "-n", opNamespace, "-l", "app.kubernetes.io/name=appstack-operator", "-o", "name")
			}, 2*time.Minute, time.Second).Should(BeEmpty(), "the operator's pods are gone")
			Consistently(func() []string { return unchanged(before, keptObjects(stacks...)) }, 10*time.Second, time.Second).
				Should(BeEmpty(), "the uninstall deleted these")

			By("changing the stacks while no operator runs: the next install converges them")
			round = "after-" + path.name + "-uninstall"
			for _, s := range stacks {
				apply(stack(s, round))
			}
		})
	}

	It("the operator installed again (the suite's) converges the stacks changed while none ran, recreating nothing", func() {
		restore()
		converged(round)
		claim := get("pvc", "data", "-n", "uninstall-keep", "-o", "jsonpath={.metadata.uid} {.status.phase}")
		Expect(claim).To(Equal(strings.Fields(before["PersistentVolumeClaim/uninstall-keep/data"])[0] + " Bound"))
	})
})
