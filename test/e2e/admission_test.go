//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"
)

// The groups config/admission reserves privileged stacks to, as its messages name them.
const reservedTo = "reserved to members of system:masters or appstack:platform-admins"

// alice is a stack author who may create stacks and everything they render
// everywhere (appstack-editor-role, ClusterRole edit and namespaces, bound
// cluster-wide), so that only the fields reserved to admins refuse her a stack; bob
// is a member of appstack:platform-admins. Both are impersonated by the suite's
// admin kubeconfig.
var (
	asAlice = []string{"--as=alice", "--as-group=appstack:editors"}
	asBob   = []string{"--as=bob", "--as-group=appstack:platform-admins"}
)

// privilegedStack is one stack field the admission policy reserves to admin groups,
// and what the refusal must name.
type privilegedStack struct {
	what  string
	name  string
	spec  string // the stack's spec, indented under spec:
	field string // the start of the refusal message: the field path and its rule
}

var privilegedStacks = []privilegedStack{
	{
		what:  "a privileged namespace",
		name:  "vap-privileged-ns",
		spec:  "  namespace: {podSecurity: privileged}\n" + webComponent(""),
		field: "spec.namespace.podSecurity: the privileged Pod Security level is " + reservedTo,
	},
	{
		what: "a hostPath volume",
		name: "vap-hostpath",
		spec: webComponent(`    volumes: [{name: logs, hostPath: {path: /var/log}}]
`, `volumeMounts: [{name: logs, mountPath: /logs}]`),
		field: "spec.components[web].volumes[logs].hostPath: hostPath volumes are " + reservedTo,
	},
	{
		what:  "a privileged container",
		name:  "vap-privileged",
		spec:  webComponent("", `securityContext: {privileged: true}`),
		field: "spec.components[web].containers[app].securityContext.privileged: privileged containers are " + reservedTo,
	},
	{
		what: "a privileged initContainer",
		name: "vap-privileged-init",
		spec: webComponent(`    initContainers: [{name: setup, image: busybox, securityContext: {privileged: true}}]
`),
		field: "spec.components[web].initContainers[setup].securityContext.privileged: privileged containers are " + reservedTo,
	},
	{
		what:  "an added capability",
		name:  "vap-capability",
		spec:  webComponent("", `securityContext: {capabilities: {add: [NET_ADMIN], drop: [ALL]}}`),
		field: "spec.components[web].containers[app].securityContext.capabilities.add (NET_ADMIN): adding Linux capabilities is " + reservedTo,
	},
	{
		what: "an initContainer's added capability",
		name: "vap-capability-init",
		spec: webComponent(`    initContainers: [{name: setup, image: busybox, securityContext: {capabilities: {add: [SYS_ADMIN]}}}]
`),
		field: "spec.components[web].initContainers[setup].securityContext.capabilities.add (SYS_ADMIN): adding Linux capabilities is " + reservedTo,
	},
	{
		what: "a toleration of every taint",
		name: "vap-tolerate-all",
		spec: webComponent(`    tolerations:
    - {key: dedicated, operator: Equal, value: web, effect: NoSchedule}
    - {operator: Exists}
`),
		field: "spec.components[web].tolerations[1]: tolerating every taint (operator Exists without a key) is " + reservedTo,
	},
}

// webComponent is a one-component spec (component web, container app) with extra
// component fields and extra container fields.
func webComponent(component string, container ...string) string {
	c := "{name: app, image: nginx"
	for _, f := range container {
		c += ", " + f
	}
	return "  components:\n  - name: web\n    containers: [" + c + "}]\n" + component
}

func (p privilegedStack) file() string {
	GinkgoHelper()
	f := filepath.Join(GinkgoT().TempDir(), p.name+".yaml")
	writeFile(f, "apiVersion: apps.appstack.dev/v1alpha1\nkind: AppStack\nmetadata: {name: "+p.name+"}\nspec:\n"+p.spec)
	return f
}

// refusal is what the apiserver said after "denied request: ", or the whole error.
func refusal(err error) string {
	if err == nil {
		return "(accepted)"
	}
	msg := strings.TrimSpace(err.Error())
	if _, after, ok := strings.Cut(msg, "denied request: "); ok {
		return after
	}
	return msg
}

// installAdmission installs config/admission's policy and the appstack ClusterRoles,
// as make demo does. With the chart's operator (pods on the real node) the policy
// names that operator's ServiceAccount, the only one that may remove a stack's
// finalizer (config/admission/kustomization.yaml shows the patch); the operator run
// as a process is the suite's admin, in system:masters.
func installAdmission() {
	GinkgoHelper()
	By("installing the admission policy (config/admission) and the appstack ClusterRoles")
	Expect(kubectl("apply", "--server-side", "--force-conflicts", "-k", filepath.Join(root, "config", "admission"))).Error().NotTo(HaveOccurred())
	if inCluster() {
		Expect(kubectl("patch", "validatingadmissionpolicy", "appstack-privileged-stacks", "--type=json", "-p",
			`[{"op":"replace","path":"/spec/variables/1/expression","value":"[\"system:serviceaccount:`+opNamespace+`:`+opDeployment+`\"]"}]`)).
			Error().NotTo(HaveOccurred())
	}
	roles := []string{"viewer", "editor", "admin"}
	args := make([]string, 0, 3+2*len(roles))
	args = append(args, "apply", "--server-side", "--force-conflicts")
	for _, r := range roles {
		args = append(args, "-f", filepath.Join(root, "config", "rbac", "appstack_"+r+"_role.yaml"))
	}
	Expect(kubectl(args...)).Error().NotTo(HaveOccurred())
}

func removeAdmission() {
	_, _ = kubectl("delete", "-k", filepath.Join(root, "config", "admission"), "--ignore-not-found")
}

var _ = Describe("who may do what: the admission policy reserves privileged stacks to admin groups", Ordered, func() {
	var crbFile string

	BeforeAll(func() {
		installAdmission()

		By("binding user alice to appstack-editor-role, edit and namespaces cluster-wide, group appstack:platform-admins to appstack-admin-role")
		crbFile = filepath.Join(root, "bin", clusterName+".admission-bindings.yaml")
		writeFile(crbFile, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-alice-appstack-editor}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: appstack-editor-role}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-alice-edit}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-namespaces}
rules: [{apiGroups: [""], resources: [namespaces], verbs: [create, update, delete]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-alice-namespaces}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-namespaces}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-platform-admins-appstack-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: appstack-admin-role}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "appstack:platform-admins"}]
`)
		Expect(kubectl("apply", "--server-side", "-f", crbFile)).Error().NotTo(HaveOccurred())

		// Who is who: the suite's kubeconfig is kwokctl's admin, in system:masters.
		whoami, err := kubectl("auth", "whoami")
		Expect(err).NotTo(HaveOccurred())
		Expect(whoami).To(ContainSubstring("system:masters"))
		GinkgoWriter.Printf("ADMIN %s\n", strings.Join(strings.Fields(whoami), " "))
		whoami, err = kubectl(append(asAlice, "auth", "whoami")...)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("ALICE %s\n", strings.Join(strings.Fields(whoami), " "))
	})

	AfterAll(func() {
		_, _ = kubectl("delete", "-f", crbFile, "--ignore-not-found")
		removeAdmission()
		if crbFile != "" {
			_ = os.Remove(crbFile)
		}
	})

	It("takes effect: alice's privileged stack is refused once the binding is in force", func() {
		// A new binding (and alice's RoleBinding) reach the apiserver's caches within moments.
		p := privilegedStacks[0]
		f := p.file()
		start := time.Now()
		Eventually(func() string {
			_, err := kubectl(append(asAlice, "apply", "--dry-run=server", "-f", f)...)
			return refusal(err)
		}, 60*time.Second, 500*time.Millisecond).Should(HavePrefix(p.field))
		GinkgoWriter.Printf("POLICY in force within %s\n", since(start))
	})

	for _, p := range privilegedStacks {
		It("refuses "+p.what+" to alice, naming the field and the groups; the admin may apply it", func() {
			f := p.file()
			_, err := kubectl(append(asAlice, "apply", "-f", f)...)
			Expect(err).To(HaveOccurred(), "alice applied %s", p.what)
			msg := refusal(err)
			GinkgoWriter.Printf("CASE %s: alice refused: %s\n", p.what, msg)
			// config/admission's policy, or the chart's when a spec installed the chart
			// (<release>-appstack-operator-privileged-stacks): the same CEL.
			Expect(err.Error()).To(MatchRegexp(`ValidatingAdmissionPolicy '[-a-z0-9]*privileged-stacks' with binding`))
			Expect(msg).To(HavePrefix(p.field))
			Expect(msg).To(ContainSubstring(reservedTo))
			Expect(kubectl("get", "stack", p.name, "--ignore-not-found", "-o", "name")).To(BeEmpty())

			out, err := kubectl("apply", "--dry-run=server", "-f", f)
			Expect(err).NotTo(HaveOccurred(), "the admin (system:masters) was refused %s", p.what)
			Expect(out).To(ContainSubstring("created (server dry run)"))
			GinkgoWriter.Printf("CASE %s: admin accepted: %s\n", p.what, strings.TrimSpace(out))
		})
	}

	It("accepts every privileged field at once from a member of appstack:platform-admins", func() {
		f := filepath.Join(GinkgoT().TempDir(), "everything.yaml")
		writeFile(f, `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: vap-everything}
spec:
  namespace: {name: vap-everything, podSecurity: privileged, adopt: true}
  components:
  - name: web
    containers:
    - {name: app, image: nginx, securityContext: {privileged: true, capabilities: {add: [NET_ADMIN]}}, volumeMounts: [{name: logs, mountPath: /logs}]}
    initContainers: [{name: setup, image: busybox, securityContext: {privileged: true}}]
    volumes: [{name: logs, hostPath: {path: /var/log}}]
    tolerations: [{operator: Exists}]
`)
		_, err := kubectl(append(asAlice, "apply", "--dry-run=server", "-f", f)...)
		Expect(err).To(HaveOccurred())
		GinkgoWriter.Printf("CASE everything at once: alice refused: %s\n", refusal(err))
		out, err := kubectl(append(asBob, "apply", "--dry-run=server", "-f", f)...)
		Expect(err).NotTo(HaveOccurred(), "bob (appstack:platform-admins) was refused")
		GinkgoWriter.Printf("CASE everything at once: bob (appstack:platform-admins) accepted: %s\n", strings.TrimSpace(out))
	})

	It("accepts ordinary stacks from alice: every sample, under another name", func() {
		files, err := filepath.Glob(filepath.Join(root, "config", "samples", "apps_v1alpha1_appstack_*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		dir := GinkgoT().TempDir()
		for _, sample := range files {
			b, err := os.ReadFile(sample)
			Expect(err).NotTo(HaveOccurred())
			var stack map[string]any
			Expect(yaml.Unmarshal(b, &stack)).To(Succeed())
			meta := stack["metadata"].(map[string]any)
			meta["name"] = "alice-" + meta["name"].(string)
			if spec, ok := stack["spec"].(map[string]any); ok {
				if ns, ok := spec["namespace"].(map[string]any); ok && ns["name"] != nil {
					ns["name"] = "alice-" + ns["name"].(string)
				}
			}
			b, err = yaml.Marshal(stack)
			Expect(err).NotTo(HaveOccurred())
			f := filepath.Join(dir, filepath.Base(sample))
			writeFile(f, string(b))
			// create, so that it is a CREATE the policy sees (apply could be an update).
			out, err := kubectl(append(asAlice, "create", "--dry-run=server", "-f", f)...)
			Expect(err).NotTo(HaveOccurred(), "alice was refused the ordinary stack %s", filepath.Base(sample))
			GinkgoWriter.Printf("CASE ordinary %s: alice accepted: %s\n", filepath.Base(sample), strings.TrimSpace(out))
		}
	})

	It("lets alice label an admin's privileged stack, and refuses her a change of its spec", func() {
		apply(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: vap-admin-made}
spec:
  paused: true
  components:
  - name: web
    containers: [{name: app, image: nginx, volumeMounts: [{name: logs, mountPath: /logs}]}]
    volumes: [{name: logs, hostPath: {path: /var/log}}]
`)
		DeferCleanup(func() {
			if _, err := kubectl("delete", "stack", "vap-admin-made", "--ignore-not-found", "--timeout=60s"); err != nil {
				// Without an operator to finish the deletion, take the finalizer off.
				_, _ = kubectl("patch", "stack", "vap-admin-made", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
			}
		})

		// The spec is unchanged: nothing new is granted.
		out, err := kubectl(append(asAlice, "label", "stack", "vap-admin-made", "team=web")...)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("CASE update, labels only: alice accepted: %s\n", strings.TrimSpace(out))

		_, err = kubectl(append(asAlice, "patch", "stack", "vap-admin-made", "--type=merge", "-p", `{"spec":{"paused":false}}`)...)
		Expect(err).To(HaveOccurred())
		msg := refusal(err)
		GinkgoWriter.Printf("CASE update, spec changed: alice refused: %s\n", msg)
		Expect(msg).To(HavePrefix("spec.components[web].volumes[logs].hostPath: hostPath volumes are " + reservedTo))
	})
})
