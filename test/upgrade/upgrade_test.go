//go:build upgrade

// Package upgrade upgrades the operator under live stacks (make test-upgrade): the
// previous release (test/upgrade/FROM: a commit, built from git history in a
// worktree) is installed as pods on the local cluster's real node — with its chart,
// with `kubectl apply -k config/local`, and with its release's install.yaml (both
// of which held the CRD then; this tree's CRD is applied first, its own step) —
// stacks of every kind converge, and the same install of this tree must then write
// nothing to any child, recreate no pod, keep every stack Ready, roll back to a
// revision the old operator wrote, and run new stacks. With helm the suite then
// downgrades (helm rollback) and checks the same. Needs root on Linux (the real
// node).
package upgrade

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/appstack-dev/appstack-operator/internal/status"
	"github.com/appstack-dev/appstack-operator/test/utils"
)

const (
	clusterName = "appstack-upgrade"
	opNamespace = "appstack-system"
	opRelease   = "appstack"
	opLease     = "appstack-operator.appstack.dev"
)

var (
	root, worktree          string
	cluster                 utils.Cluster
	fromCommit, fromVersion string
	toVersion               string
)

func TestUpgrade(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "upgrade suite")
}

// run runs a command in dir and logs it, with its output.
func run(dir string, env []string, name string, args ...string) (string, error) {
	return utils.Run(GinkgoWriter, dir, env, name, args...)
}

// kubectl runs kubectl against the suite's cluster, without logging it.
func kubectl(args ...string) (string, error) { return cluster.KubectlQuiet(args...) }

var _ = BeforeSuite(func() {
	var err error
	root, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	cluster = utils.NewCluster(root, clusterName, GinkgoWriter)
	from, err := os.ReadFile(filepath.Join(root, "test", "upgrade", "FROM"))
	Expect(err).NotTo(HaveOccurred())
	f := strings.Fields(string(from))
	Expect(f).To(HaveLen(2), "test/upgrade/FROM holds `<version> <commit>`")
	fromVersion, fromCommit = f[0], f[1]
	v, err := os.ReadFile(filepath.Join(root, "VERSION"))
	Expect(err).NotTo(HaveOccurred())
	toVersion = strings.TrimSpace(string(v))
	Expect(toVersion).NotTo(Equal(fromVersion), "VERSION must differ from the release upgraded from")

	By(fmt.Sprintf("checking out release %s (%s) in a worktree", fromVersion, fromCommit))
	worktree = filepath.Join(os.TempDir(), "appstack-upgrade-from-"+fromCommit)
	_, _ = run(root, nil, "git", "worktree", "remove", "--force", worktree)
	Expect(run(root, nil, "git", "worktree", "add", "--detach", worktree, fromCommit)).Error().NotTo(HaveOccurred())
	DeferCleanup(func() { _, _ = run(root, nil, "git", "worktree", "remove", "--force", worktree) })

	By("starting a fresh local cluster with a real node")
	_, _ = cluster.DevCluster([]string{"REAL_NODE=1"}, "down")
	Expect(cluster.DevCluster([]string{"REAL_NODE=1"}, "up")).Error().NotTo(HaveOccurred())
	if os.Getenv("UPGRADE_KEEP_CLUSTER") == "" {
		DeferCleanup(func() { _, _ = cluster.DevCluster([]string{"REAL_NODE=1"}, "down") })
	}

	By(fmt.Sprintf("building the operator image of %s from the worktree and importing it into the node", fromVersion))
	images := GinkgoT().TempDir()
	Expect(run(root, nil, filepath.Join(root, "bin", "appstack-images"), "-root", worktree, "-out", images,
		"-only", "operator", "-operator-image", "appstack-operator:"+fromVersion)).Error().NotTo(HaveOccurred())
	Expect(run(root, []string{"CLUSTER_NAME=" + clusterName, "KUBECONFIG=" + cluster.Kubeconfig},
		filepath.Join(root, "hack", "real-node.sh"), "import", filepath.Join(images, "operator-"+fromVersion+".tar"))).
		Error().NotTo(HaveOccurred())
	Expect(run(root, nil, "go", "build", "-o", filepath.Join(root, "bin", "kubectl-appstack"), "./cmd/kubectl-appstack")).
		Error().NotTo(HaveOccurred())
})

// leader is the lease holder's pod and its image while it runs, "" otherwise.
func leader() string {
	pod, image := cluster.Leader(opNamespace, opLease)
	if pod == "" {
		return ""
	}
	return pod + " " + image
}

func apply(yaml string) {
	GinkgoHelper()
	Expect(cluster.ApplyFile(filepath.Join(GinkgoT().TempDir(), "stack.yaml"), yaml)).NotTo(HaveOccurred())
}

// stacks are every kind a stack can make, kwok-scheduled (the real node runs only
// the operator): a StatefulSet with a claim template and a retained volume, a
// Deployment with a Service, Ingress, autoscaler and disruption budget, a DaemonSet,
// a Job, a CronJob and a bare Pod; twenty of them. The CronJob fires once a year:
// a run that crossed its schedule would see the CronJob controller write its
// status (a run across half past ten once did, with "*/30 * * * *").
func stacks() []string {
	var out []string
	for i := 0; i < 10; i++ {
		out = append(out, fmt.Sprintf(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: up-full-%02d}
spec:
  configs: [{name: cfg, data: {a: b}}]
  volumes: [{name: shared, size: 1Gi}]
  components:
  - name: db
    kind: StatefulSet
    containers: [{name: pg, image: postgres:16, ports: [{containerPort: 5432}], volumeMounts: [{name: data, mountPath: /data}]}]
    volumeClaimTemplates: [{name: data, size: 1Gi}]
  - name: web
    dependsOn: [db]
    containers: [{name: app, image: nginx:1.25, ports: [{containerPort: 80}], volumeMounts: [{name: cfg, mountPath: /cfg}, {name: shared, mountPath: /shared}]}]
    volumes: [{name: cfg, config: cfg}, {name: shared, persistentVolume: shared}]
    ingress: {host: up-%02d.example.com}
    autoscaling: {minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 80}
    podDisruptionBudget: {maxUnavailable: 1}
`, i, i))
		out = append(out, fmt.Sprintf(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: up-misc-%02d}
spec:
  components:
  - {name: agent, kind: DaemonSet, containers: [{name: a, image: busybox:1.36}]}
  - {name: once, kind: Job, containers: [{name: j, image: busybox:1.36}]}
  - {name: tick, kind: CronJob, schedule: "0 3 1 1 *", containers: [{name: c, image: busybox:1.36}]}
  - {name: solo, kind: Pod, containers: [{name: p, image: busybox:1.36}]}
  - name: api
    replicas: 2
    containers: [{name: api, image: nginx:1.25, ports: [{containerPort: 8080}]}]
`, i))
	}
	return out
}

func waitAllReady(names []string) {
	GinkgoHelper()
	Expect(cluster.WaitFor("Ready", 20*time.Second, 4*time.Minute, utils.StackRefs(names...)...)).NotTo(HaveOccurred())
}

// snapshot is every object the operator manages (uid and resourceVersion by
// kind/namespace/name) and every pod's uid.
func snapshot() map[string]string {
	GinkgoHelper()
	out, err := kubectl("get", "namespaces,deployments,statefulsets,daemonsets,jobs,cronjobs,pods,services,configmaps,"+
		"persistentvolumeclaims,ingresses,horizontalpodautoscalers,poddisruptionbudgets,controllerrevisions", "-A",
		"-l", "app.kubernetes.io/managed-by=appstack-operator", "-o",
		`jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name} {.metadata.uid} {.metadata.resourceVersion}{"\n"}{end}`)
	Expect(err).NotTo(HaveOccurred())
	snap := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) == 3 {
			snap[f[0]] = f[1] + " " + f[2]
		}
	}
	pods, err := kubectl("get", "pods", "-A", "-o",
		`jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.uid}{"\n"}{end}`)
	Expect(err).NotTo(HaveOccurred())
	for _, l := range strings.Split(strings.TrimSpace(pods), "\n") {
		if f := strings.Fields(l); len(f) == 2 && !strings.HasPrefix(f[0], opNamespace+"/") {
			snap["pod-uid/"+f[0]] = f[1]
		}
	}
	return snap
}

// operatorWrites are the write requests the operator (user agent
// appstack-operator) made since t, by verb and resource, leaving out its lease,
// events and the reviews its metrics endpoint asks for.
func operatorWrites(t time.Time) map[string]int {
	GinkgoHelper()
	counts, err := utils.Writes(cluster.AuditLog(), "appstack-operator", t,
		"leases", "events", "tokenreviews", "subjectaccessreviews")
	Expect(err).NotTo(HaveOccurred())
	return counts
}

// installer installs the operator of the tree at dir (the worktree of the previous
// release, or this one) as pods on the real node, one way a user would.
type installer struct {
	name       string
	deployment string
	install    func(dir, version string, extra ...string)
	uninstall  func()
}

// pinned sends a kustomize-made operator to the real node, which alone has its
// image (what a user of the local cluster does; config/local does it itself).
func pinned() {
	GinkgoHelper()
	Expect(cluster.PinToRealNode(opNamespace, "appstack-operator-controller-manager")).NotTo(HaveOccurred())
}

// upgradeCRD applies this tree's CRD (config/crd or the release's crds.yaml) as
// the README's upgrade does, before the operator: from this release on the CRD is
// its own install step and the operator's kustomize install and install.yaml no
// longer hold it, so applying them alone would leave the previous release's CRD.
// Server-side with --force-conflicts: the previous release's install (or its chart,
// in the spec before) owns the CRD's fields under another field manager, and the
// released CRD is to replace them; its field manager is kubectl's, as the previous
// kustomize install's was, so fields the new CRD drops go.
func upgradeCRD(args ...string) {
	GinkgoHelper()
	Expect(cluster.ApplyCRD(true, args...)).NotTo(HaveOccurred())
	out, err := kubectl("get", "crd", utils.CRDName, "-o", "jsonpath={.metadata.deletionTimestamp}")
	Expect(err).NotTo(HaveOccurred())
	Expect(out).To(BeEmpty())
}

var installers = []installer{
	{
		name: "helm", deployment: "appstack-appstack-operator",
		install: func(dir, version string, extra ...string) {
			GinkgoHelper()
			args := append([]string{"upgrade", "--install", opRelease, filepath.Join(dir, "charts", "appstack-operator"),
				"-n", opNamespace, "-f", filepath.Join(root, "hack", "real-node-values.yaml"), "--set", "image.tag=" + version,
				"--wait", "--timeout", "180s"}, extra...)
			Expect(cluster.Helm(args...)).Error().NotTo(HaveOccurred())
		},
		uninstall: func() { _, _ = cluster.Helm("uninstall", opRelease, "-n", opNamespace, "--wait") },
	},
	{
		name: "kubectl apply -k config/local", deployment: "appstack-operator-controller-manager",
		install: func(dir, _ string, _ ...string) {
			GinkgoHelper()
			if dir == root {
				upgradeCRD("-k", filepath.Join(dir, "config", "crd"))
			}
			Expect(kubectl("apply", "--server-side", "--force-conflicts", "-k", filepath.Join(dir, "config", "local"))).
				Error().NotTo(HaveOccurred())
		},
		uninstall: func() {
			_, _ = kubectl("delete", "deployment", "appstack-operator-controller-manager", "-n", opNamespace, "--wait=true")
		},
	},
	{
		name: "kubectl apply -f install.yaml", deployment: "appstack-operator-controller-manager",
		install: func(dir, _ string, _ ...string) {
			GinkgoHelper()
			f := filepath.Join(GinkgoT().TempDir(), "install.yaml")
			// This tree's bin/ has kustomize; the release's script uses it.
			Expect(run(dir, []string{"LOCALBIN=" + filepath.Join(root, "bin")}, filepath.Join(dir, "hack", "release.sh"),
				"install-yaml", f)).Error().NotTo(HaveOccurred())
			if dir == root {
				crds := filepath.Join(GinkgoT().TempDir(), "crds.yaml")
				Expect(run(dir, nil, filepath.Join(dir, "hack", "release.sh"), "crds-yaml", crds)).Error().NotTo(HaveOccurred())
				upgradeCRD("-f", crds)
			}
			Expect(kubectl("apply", "--server-side", "--force-conflicts", "-f", f)).Error().NotTo(HaveOccurred())
			pinned()
		},
		uninstall: func() {
			_, _ = kubectl("delete", "deployment", "appstack-operator-controller-manager", "-n", opNamespace, "--wait=true")
		},
	},
}

// switchTo waits for the operator's last writes, snapshots, runs change (a switch
// of the operator) and waits until a pod of version leads: the snapshot, when the
// change began, and the leader.
func switchTo(version string, change func()) (before map[string]string, began time.Time, lead string) {
	GinkgoHelper()
	time.Sleep(5 * time.Second)
	before = snapshot()
	began = time.Now()
	change()
	Eventually(func() string { lead = leader(); return lead }, 2*time.Minute, time.Second).
		Should(HaveSuffix(" appstack-operator:" + version))
	return before, began, lead
}

// quiet waits for the operator's last writes, snapshots, runs change, waits until
// a pod of version leads and then 45 s more (two full resyncs where the operator
// runs with --sync-period=20s), and checks that nothing the operator manages
// changed and that it wrote no child and each stack's status at most once. With
// migrate, the switch may move every namespace a stack created from the stack's
// owner reference (0.1.x) to the stack's UID annotation, one apply each
// (docs/ownership.md, "Namespaces"): the only writes to children a switch to this
// tree may make.
func quiet(names []string, version string, migrate bool, change func()) {
	GinkgoHelper()
	before, began, lead := switchTo(version, change)
	leads := time.Now()
	GinkgoWriter.Printf("SWITCH: %s leads %s after the change began\n", lead, leads.Sub(began).Round(100*time.Millisecond))
	time.Sleep(45 * time.Second)
	waitAllReady(names)
	after := snapshot()
	var changed []string
	migrated := 0
	for k, v := range before {
		if after[k] != v {
			if migrate && strings.HasPrefix(k, "Namespace/") && strings.Fields(after[k])[0] == strings.Fields(v)[0] {
				migrated++ // the same namespace (uid), written by the migration
				continue
			}
			changed = append(changed, fmt.Sprintf("%s: %s -> %q", k, v, after[k]))
		}
	}
	sort.Strings(changed)
	Expect(changed).To(BeEmpty(), "children or pods changed")

	var children []string
	statusWrites := map[string]int{}
	nsWrites := 0
	// Since the change began: the first pass of the new leader runs the moment it
	// leads, before this test sees the lease change hands. The old operator, at
	// rest, writes nothing.
	for k, n := range operatorWrites(began) {
		if strings.HasPrefix(k, "update appstacks/status ") || strings.HasPrefix(k, "patch appstacks/status ") {
			statusWrites[strings.Fields(k)[2]] += n
			continue
		}
		if migrate && strings.HasPrefix(k, "patch namespaces ") && n == 1 {
			nsWrites++
			continue
		}
		children = append(children, fmt.Sprintf("%s x%d", k, n))
	}
	sort.Strings(children)
	if migrate {
		owned, err := kubectl("get", "namespaces", "-l", "app.kubernetes.io/managed-by=appstack-operator", "-o",
			`jsonpath={range .items[*]}{.metadata.name} owners={.metadata.ownerReferences} uid={.metadata.annotations.apps\.appstack\.dev/stack-uid}{"\n"}{end}`)
		Expect(err).NotTo(HaveOccurred())
		for _, l := range strings.Split(strings.TrimSpace(owned), "\n") {
			Expect(l).To(ContainSubstring(" owners= "), "a namespace still has an owner reference: %s", l)
			Expect(l).NotTo(HaveSuffix("uid="), "a namespace does not carry its stack's UID: %s", l)
		}
		GinkgoWriter.Printf("MIGRATION by %s: %d namespaces moved from the stack's owner reference to its UID annotation, one write each (%d)\n",
			version, migrated, nsWrites)
		Expect(nsWrites).To(Equal(migrated), "one write per migrated namespace")
	}
	GinkgoWriter.Printf("WRITES by %s: %d objects and pods unchanged; status writes %v; other writes %v\n",
		version, len(before)-migrated, statusWrites, children)
	AddReportEntry("writes after the switch to "+version, fmt.Sprintf("%d unchanged, status %v, other %v", len(before), statusWrites, children))
	Expect(children).To(BeEmpty(), "the operator wrote to children (or to stacks' spec or metadata)")
	for stack, n := range statusWrites {
		allowed := 1
		if warnedIn(stack, began) {
			// The grace of an autoscaler that cannot read its metric (kwok nodes have
			// none) ended in the window: the warning's own write.
			allowed = 2
		}
		Expect(n).To(BeNumerically("<=", allowed), "stack %s's status written more than once", stack)
	}
}

// warnedIn tells a stack one of whose autoscalers' ScalingActive=False reached
// status.AutoscalerGrace since t: the operator then writes the stack's status
// once more, to name it (README, the warnings table).
func warnedIn(stack string, t time.Time) bool {
	GinkgoHelper()
	out, err := kubectl("get", "hpa", "-n", stack, "-o",
		`jsonpath={range .items[*]}{.status.conditions[?(@.type=="ScalingActive")].status} {.status.conditions[?(@.type=="ScalingActive")].lastTransitionTime}{"\n"}{end}`)
	Expect(err).NotTo(HaveOccurred())
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 || f[0] != "False" {
			continue
		}
		since, err := time.Parse(time.RFC3339, f[1])
		Expect(err).NotTo(HaveOccurred())
		if end := since.Add(status.AutoscalerGrace); end.After(t) && end.Before(time.Now()) {
			return true
		}
	}
	return false
}

// downgradeRefused runs change (a switch back to the previous release) and checks
// that it is refused safely: 0.1.x reads a namespace without the stack's owner
// reference as not the stack's, so every stack reports NamespaceConflict, and the
// old operator writes nothing but statuses — no child written, no pod recreated
// (CHANGELOG.md: 0.2 cannot be rolled back to 0.1).
func downgradeRefused(names []string, change func()) {
	GinkgoHelper()
	before, began, _ := switchTo(fromVersion, change)
	for _, name := range names {
		Eventually(func() (string, error) {
			return kubectl("get", "stack", name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}`)
		}, 2*time.Minute, time.Second).Should(Equal("NamespaceConflict"), "stack %s under %s", name, fromVersion)
	}
	time.Sleep(20 * time.Second)
	after := snapshot()
	for k, v := range before {
		Expect(after[k]).To(Equal(v), "%s changed under the downgraded operator", k)
	}
	var other []string
	for k, n := range operatorWrites(began) {
		if !strings.HasPrefix(k, "update appstacks/status ") && !strings.HasPrefix(k, "patch appstacks/status ") {
			other = append(other, fmt.Sprintf("%s x%d", k, n))
		}
	}
	GinkgoWriter.Printf("DOWNGRADE to %s: %d stacks NamespaceConflict, %d objects and pods unchanged, writes other than status %v\n",
		fromVersion, len(names), len(before), other)
	Expect(other).To(BeEmpty())
}

func stackNames() []string {
	all := stacks()
	names := make([]string, 0, len(all))
	for _, y := range all {
		names = append(names, strings.TrimSuffix(strings.Fields(strings.SplitN(y, "name: ", 2)[1])[0], "}"))
	}
	return names
}

var _ = Describe("upgrading the operator under live stacks", Ordered, func() {
	names := stackNames()

	BeforeAll(func() {
		_, _ = kubectl("create", "namespace", opNamespace)
		Expect(kubectl("label", "namespace", opNamespace, "--overwrite", "pod-security.kubernetes.io/enforce=restricted")).
			Error().NotTo(HaveOccurred())
	})

	for _, in := range installers {
		It("with "+in.name+": the previous release converges twenty stacks of every kind; the upgrade writes nothing and recreates no pod", func() {
			in.install(worktree, fromVersion)
			Eventually(leader, 2*time.Minute, time.Second).Should(HaveSuffix(" appstack-operator:" + fromVersion))
			for _, y := range stacks() {
				apply(y)
			}
			waitAllReady(names)
			GinkgoWriter.Printf("%d stacks Ready under %s (%s)\n", len(names), leader(), in.name)
			quiet(names, toVersion, true, func() { in.install(root, toVersion, "--set", "extraArgs={--sync-period=20s}") })
			// The upgrade replaced the CRD too: the cluster serves this tree's (kubectl diff
			// exits 1 on a difference).
			Expect(kubectl("diff", "--server-side", "--force-conflicts", "-k", filepath.Join(root, "config", "crd"))).
				Error().NotTo(HaveOccurred(), "the cluster's CRD is not this tree's config/crd")

			const stack = "up-misc-00"
			apply(strings.Replace(stacks()[1], "image: nginx:1.25, ports: [{containerPort: 8080}]",
				"image: nginx:1.27, ports: [{containerPort: 8080}]", 1))
			image := func() (string, error) {
				return kubectl("get", "deployment", "api", "-n", stack, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
			}
			Eventually(image, time.Minute, time.Second).Should(Equal("nginx:1.27"))
			hist, err := kubectl("appstack", "history", stack)
			Expect(err).NotTo(HaveOccurred())
			GinkgoWriter.Printf("HISTORY\n%s", hist)
			Expect(kubectl("appstack", "rollback", stack, "--to-revision", "1")).Error().NotTo(HaveOccurred())
			Eventually(image, time.Minute, time.Second).Should(Equal("nginx:1.25"))
			apply(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: up-new}
spec:
  components: [{name: web, containers: [{name: app, image: nginx:1.27, ports: [{containerPort: 80}]}]}]
`)
			waitAllReady(append([]string{"up-new"}, names...))

			if in.name == "helm" {
				all := append([]string{"up-new"}, names...)
				By("downgrading with helm rollback to the previous release: refused safely")
				downgradeRefused(all, func() {
					Expect(cluster.Helm("rollback", opRelease, "1", "-n", opNamespace, "--wait", "--timeout", "180s")).Error().NotTo(HaveOccurred())
				})
				By("rolling forward again with helm rollback")
				quiet(all, toVersion, false, func() {
					Expect(cluster.Helm("rollback", opRelease, "2", "-n", opNamespace, "--wait", "--timeout", "180s")).Error().NotTo(HaveOccurred())
				})
			}

			By("deleting the stacks with the operator running, then the operator")
			Expect(kubectl("delete", "stacks", "--all", "--wait=true", "--timeout=180s")).Error().NotTo(HaveOccurred())
			in.uninstall()
		})
	}
})
