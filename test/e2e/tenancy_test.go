//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Two teams and a platform admin, set up as README.md ("Who may do what", "A team
// of its own") tells a platform team to: each team has ClusterRole edit in its own
// namespace (a RoleBinding) and appstack-editor-role cluster-wide; the platform
// hands each namespace to one stack (apps.appstack.dev/adopt). Team B may do
// nothing to team A's stack or namespace, team A manages its own, the admin all.
var (
	asTeamA = []string{"--as=alice", "--as-group=team-a"}
	asTeamB = []string{"--as=bob", "--as-group=team-b"}
	asAdmin = []string{"--as=carol", "--as-group=appstack:platform-admins"}
)

// ledgerStack is team A's stack in its namespace ledger, or another team's attempt
// at one: a retained claim and a Secret mounted, a container that would print them.
func ledgerStack(name, image string) string {
	return `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: ` + name + `}
spec:
  namespace: {name: ledger, adopt: true}
  volumes: [{name: data, size: 1Gi}]
  components:
  - name: books
    containers:
    - name: app
      image: ` + image + `
      ports: [{containerPort: 8080}]
      volumeMounts: [{name: data, mountPath: /data}, {name: db, mountPath: /secret}]
    volumes: [{name: data, persistentVolume: data}, {name: db, secret: team-a-db}]
`
}

// as runs kubectl as a user, with a file of the given content when doc is set.
func as(who []string, doc string, args ...string) (string, error) {
	GinkgoHelper()
	if doc != "" {
		f := filepath.Join(GinkgoT().TempDir(), "stack.yaml")
		writeFile(f, doc)
		args = append(args, "-f", f)
	}
	return kubectl(append(append([]string{}, who...), args...)...)
}

// refusedWith expects a refusal by the admission policy and returns its message.
func refusedWith(err error, want ...string) string {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "accepted; want a refusal naming %q", want)
	Expect(err.Error()).To(MatchRegexp(`ValidatingAdmissionPolicy '[-a-z0-9]*privileged-stacks' with binding`))
	msg := refusal(err)
	for _, w := range want {
		Expect(msg).To(ContainSubstring(w))
	}
	return msg
}

var _ = Describe("two teams and an admin: a stack author gets exactly the rights they hold in the stack's namespace", Ordered, func() {
	var claimUID string

	BeforeAll(func() {
		installAdmission()
		DeferCleanup(removeAdmission)

		By("the platform team: a namespace for each team, handed to one stack, ClusterRole edit there, appstack-editor-role everywhere")
		for team, ns := range map[string]string{"team-a": "ledger", "team-b": "team-b"} {
			stackName := map[string]string{"ledger": "ledger", "team-b": "notes"}[ns]
			Expect(kubectl("create", "namespace", ns)).Error().NotTo(HaveOccurred())
			Expect(kubectl("annotate", "namespace", ns, "apps.appstack.dev/adopt="+stackName)).Error().NotTo(HaveOccurred())
			Expect(kubectl("create", "rolebinding", team+"-edit", "-n", ns, "--clusterrole=edit", "--group="+team)).Error().NotTo(HaveOccurred())
			Expect(kubectl("create", "clusterrolebinding", team+"-stacks", "--clusterrole=appstack-editor-role", "--group="+team)).Error().NotTo(HaveOccurred())
		}
		Expect(kubectl("create", "clusterrolebinding", "e2e-tenancy-platform-admins", "--clusterrole=appstack-admin-role",
			"--group=appstack:platform-admins")).Error().NotTo(HaveOccurred())
		DeferCleanup(func() {
			for _, n := range []string{"team-a-stacks", "team-b-stacks", "e2e-tenancy-platform-admins"} {
				_, _ = kubectl("delete", "clusterrolebinding", n, "--ignore-not-found")
			}
			_, _ = kubectl("delete", "stack", "ledger", "notes", "admin-ledger", "--ignore-not-found", "--timeout=90s")
			_, _ = kubectl("delete", "namespace", "ledger", "team-b", "--ignore-not-found", "--wait=false")
		})
		for _, who := range [][]string{asTeamA, asTeamB} {
			out, err := kubectl(append(append([]string{}, who...), "auth", "can-i", "create", "deployments.apps", "-n", "ledger")...)
			GinkgoWriter.Printf("CAN-I %s create deployments.apps -n ledger: %s %v\n", who[0], strings.TrimSpace(out), err)
		}

		By("team A keeps a Secret in its namespace")
		Expect(kubectl(append(append([]string{}, asTeamA...), "create", "secret", "generic", "team-a-db", "-n", "ledger",
			"--from-literal=password=hunter2")...)).Error().NotTo(HaveOccurred())
	})

	It("has a policy the cluster type-checks against the CRD without a warning", func() {
		// kube-controller-manager's policy status controller checks every expression
		// against the AppStack schema.
		var f []string
		Eventually(func() bool {
			out, _ := kubectl("get", "validatingadmissionpolicy", "appstack-privileged-stacks", "-o",
				`jsonpath={.metadata.generation} {.status.observedGeneration} {.status.typeChecking.expressionWarnings}`)
			f = strings.Fields(out)
			return len(f) >= 2 && f[0] == f[1]
		}, "60s", "1s").Should(BeTrue(), "the policy status controller did not check the policy")
		Expect(strings.Join(f[2:], " ")).To(BeEmpty(), "type-checking warnings")
	})

	It("lets team A create its stack in its namespace", func() {
		Eventually(func() error {
			_, err := as(asTeamA, ledgerStack("ledger", "nginx:1.27"), "apply")
			return err
		}, "30s", "1s").Should(Succeed())
		waitReady("stack/ledger")
		claimUID = get("pvc", "data", "-n", "ledger", "-o", "jsonpath={.metadata.uid}")
		Expect(claimUID).NotTo(BeEmpty())
		saw("team A's stack ledger is Ready; claim data %s\n", claimUID)
	})

	It("refuses team B a stack in team A's namespace, naming the permission B lacks", func() {
		_, err := as(asTeamB, ledgerStack("intruder", "busybox"), "apply")
		msg := refusedWith(err, "bob may not create stack intruder: it needs permission to create ",
			" in namespace ledger (kubectl auth can-i create ", " -n ledger --as=bob --as-group=team-b)",
			"ask the owner of namespace ledger for a RoleBinding that grants it")
		saw("B creates a stack in A's namespace: %s\n", msg)
		Expect(kubectl("get", "stack", "intruder", "--ignore-not-found", "-o", "name")).To(BeEmpty())
	})

	It("refuses team B a change of team A's stack", func() {
		_, err := as(asTeamB, "", "patch", "stack", "ledger", "--type=merge", "-p",
			`{"spec":{"components":[{"name":"books","containers":[{"name":"app","image":"busybox","command":["cat","/secret/password"]}]}]}}`)
		msg := refusedWith(err, "bob may not change the spec of stack ledger: it needs permission to ", " in namespace ledger (")
		saw("B changes A's stack: %s\n", msg)
		Expect(get("stack", "ledger", "-o", "jsonpath={.spec.components[0].containers[0].image}")).To(Equal("nginx:1.27"))
	})

	It("refuses team B the removal of the finalizer of team A's stack", func() {
		_, err := as(asTeamB, "", "patch", "stack", "ledger", "--type=json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
		msg := refusedWith(err, "metadata.finalizers: bob may not remove apps.appstack.dev/finalizer from stack ledger")
		saw("B strips the finalizer of A's stack: %s\n", msg)
		Expect(get("stack", "ledger", "-o", "jsonpath={.metadata.finalizers}")).To(ContainSubstring("apps.appstack.dev/finalizer"))
	})

	It("refuses team B the deletion of team A's stack", func() {
		_, err := as(asTeamB, "", "delete", "stack", "ledger", "--timeout=30s")
		msg := refusedWith(err, "bob may not delete stack ledger: it needs permission to ", " in namespace ledger (", "In all, this request needs: update persistentvolumeclaims, delete deployments.apps, delete services")
		saw("B deletes A's stack: %s\n", msg)
		Expect(kubectl("get", "stack", "ledger", "-o", "name")).To(Equal("appstack.apps.appstack.dev/ledger\n"))
	})

	It("lets team A change its stack, and team B manage its own", func() {
		Expect(as(asTeamA, ledgerStack("ledger", "nginx:1.28"), "apply")).Error().NotTo(HaveOccurred())
		waitReady("stack/ledger")
		Expect(get("deployment", "books", "-n", "ledger", "-o", "jsonpath={.spec.template.spec.containers[0].image}")).To(Equal("nginx:1.28"))

		notes := `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: notes}
spec:
  namespace: {name: team-b, adopt: true}
  components: [{name: web, containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]}]
`
		Expect(as(asTeamB, notes, "apply")).Error().NotTo(HaveOccurred())
		waitReady("stack/notes")
		Expect(as(asTeamB, "", "delete", "stack", "notes", "--timeout=90s")).Error().NotTo(HaveOccurred())
	})

	It("lets the admin do all of it: create, change, strip the finalizer and delete in team A's namespace", func() {
		out, err := as(asAdmin, ledgerStack("admin-ledger", "busybox"), "apply", "--dry-run=server")
		Expect(err).NotTo(HaveOccurred())
		saw("the admin creates a stack in A's namespace: %s", out)
		Expect(as(asAdmin, "", "patch", "stack", "ledger", "--dry-run=server", "--type=merge", "-p", `{"spec":{"paused":true}}`)).Error().NotTo(HaveOccurred())
		Expect(as(asAdmin, "", "patch", "stack", "ledger", "--dry-run=server", "--type=json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)).Error().NotTo(HaveOccurred())
		Expect(as(asAdmin, "", "delete", "stack", "ledger", "--dry-run=server")).Error().NotTo(HaveOccurred())
		Expect(kubectl("get", "stack", "ledger", "-o", "jsonpath={.metadata.finalizers} {.spec.paused}")).To(Equal(`["apps.appstack.dev/finalizer"] `))
	})

	It("refuses team B the name of team A's deleted stack, whose claim and Secret stay; team A takes them back", func() {
		Expect(as(asTeamA, "", "delete", "stack", "ledger", "--timeout=90s")).Error().NotTo(HaveOccurred())
		Expect(get("pvc", "data", "-n", "ledger", "-o", "jsonpath={.metadata.uid}")).To(Equal(claimUID), "the retained claim")
		Expect(get("secret", "team-a-db", "-n", "ledger", "-o", "name")).To(Equal("secret/team-a-db"))

		_, err := as(asTeamB, ledgerStack("ledger", "busybox"), "apply")
		msg := refusedWith(err, "bob may not create stack ledger: it needs permission to create ", " in namespace ledger (")
		saw("B takes back the name ledger: %s\n", msg)
		Expect(kubectl("get", "stack", "ledger", "--ignore-not-found", "-o", "name")).To(BeEmpty())

		Expect(as(asTeamA, ledgerStack("ledger", "nginx:1.28"), "apply")).Error().NotTo(HaveOccurred())
		waitReady("stack/ledger")
		Expect(get("pvc", "data", "-n", "ledger", "-o", "jsonpath={.metadata.uid}")).To(Equal(claimUID), "team A's stack has its claim back")
		Expect(as(asTeamA, "", "delete", "stack", "ledger", "--timeout=90s")).Error().NotTo(HaveOccurred())
	})
})
