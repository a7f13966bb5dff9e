// Package admission runs the admission policy of config/admission on a real
// apiserver (envtest's etcd and kube-apiserver, bin/; make tools-envtest) with RBAC,
// as users who hold exactly some permissions: a stack's author needs, in the stack's
// namespace, the rights the operator uses for them (README.md, "Who may do what").
// What a stack needs is computed here from internal/render, so the policy's CEL
// mirror of the renderer is checked against the renderer itself.
package admission

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/test/utils"
)

var root = filepath.Join("..", "..")

var (
	cfg    *rest.Config
	admin  client.Client
	scheme = runtime.NewScheme()
)

func TestMain(m *testing.M) {
	_ = clientgoscheme.AddToScheme(scheme)
	_ = apiextensionsv1.AddToScheme(scheme)
	_ = appstackv1.AddToScheme(scheme)
	os.Exit(utils.RunWithEnvtest(m, root, scheme, func(c *rest.Config, a client.Client) error {
		cfg, admin = c, a
		if err := installPolicy(); err != nil {
			return fmt.Errorf("install config/admission: %w", err)
		}
		return nil
	}))
}

// installPolicy creates config/admission's policy and binding and waits until the
// policy refuses what it must.
func installPolicy() error {
	ctx := context.Background()
	policy := &admissionv1.ValidatingAdmissionPolicy{}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{}
	for file, obj := range map[string]client.Object{"policy.yaml": policy, "binding.yaml": binding} {
		b, err := os.ReadFile(filepath.Join(root, "config", "admission", file))
		if err != nil {
			return err
		}
		if err := yaml.UnmarshalStrict(b, obj); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if err := admin.Create(ctx, obj); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	// In force once a user with rights on stacks only is refused a stack.
	for _, o := range []client.Object{
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "stacks-all"}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{appstackv1.GroupVersion.Group}, Resources: []string{"appstacks"}, Verbs: []string{"*"}}}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "stacks-nobody"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "nobody"}},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "stacks-all"}},
	} {
		if err := admin.Create(ctx, o); err != nil {
			return err
		}
	}
	nobody := as("nobody")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		err := nobody.Create(ctx, stack("probe", "components: [{name: web, containers: [{name: app, image: nginx}]}]"), client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "ValidatingAdmissionPolicy") {
			break
		}
		if time.Now().After(deadline) {
			live := &admissionv1.ValidatingAdmissionPolicy{}
			_ = admin.Get(ctx, client.ObjectKeyFromObject(policy), live)
			return fmt.Errorf("the policy is not in force after 60s (last answer: %v; type checking: %+v)", err, live.Status)
		}
	}
	return nil
}

// as is a client that impersonates a user, as `kubectl --as --as-group` does.
func as(user string, groups ...string) client.Client {
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	cl, err := client.New(c, client.Options{Scheme: scheme})
	if err != nil {
		panic(err)
	}
	return cl
}

// stack is an AppStack from the YAML of its spec.
func stack(name, spec string) *unstructured.Unstructured {
	var s map[string]any
	if err := yaml.Unmarshal([]byte(spec), &s); err != nil {
		panic(fmt.Sprintf("%s: %v", name, err))
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps.appstack.dev/v1alpha1", "kind": "AppStack",
		"metadata": map[string]any{"name": name}, "spec": s,
	}}
}

// permission is one verb on one kind, as `kubectl auth can-i` names the kind.
type permission struct{ verb, kind string }

func (p permission) String() string { return p.verb + " " + p.kind }

// kindName is how the policy names each kind a stack renders.
var kindName = map[string]string{
	"ConfigMap": "configmaps", "PersistentVolumeClaim": "persistentvolumeclaims",
	"Deployment": "deployments.apps", "StatefulSet": "statefulsets.apps", "DaemonSet": "daemonsets.apps",
	"Job": "jobs.batch", "CronJob": "cronjobs.batch", "Pod": "pods", "Service": "services",
	"Ingress": "ingresses.networking.k8s.io", "HorizontalPodAutoscaler": "horizontalpodautoscalers.autoscaling",
	"PodDisruptionBudget": "poddisruptionbudgets.policy",
}

// rendered is what internal/render makes of a stack: kind and name of every
// namespaced object.
func rendered(t *testing.T, u *unstructured.Unstructured) map[[2]string]bool {
	t.Helper()
	s := &appstackv1.AppStack{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, s); err != nil {
		t.Fatal(err)
	}
	d, err := render.Render(s)
	if err != nil {
		t.Fatalf("%s does not render: %v", u.GetName(), err)
	}
	out := map[[2]string]bool{}
	for _, o := range d.Objects() {
		kind := o.GetObjectKind().GroupVersionKind().Kind
		if kind == "Namespace" {
			continue
		}
		k, ok := kindName[kind]
		if !ok {
			t.Fatalf("%s renders a %s, which the policy does not know: add it to config/admission/policy.yaml (variables.kinds)", u.GetName(), kind)
		}
		out[[2]string{k, o.GetName()}] = true
	}
	return out
}

// kindsOf are the kinds among rendered objects, sorted.
func kindsOf(objs map[[2]string]bool) []string {
	var out []string
	for o := range objs {
		if !slices.Contains(out, o[0]) {
			out = append(out, o[0])
		}
	}
	slices.Sort(out)
	return out
}

var users int

// user makes a new user holding exactly perms in namespace ns (a Role and a
// RoleBinding there) and cluster-wide clusterPerms (a ClusterRole and a
// ClusterRoleBinding), plus appstack-editor-role's rights on stacks.
func user(t *testing.T, ns string, perms []permission, clusterPerms ...permission) (string, client.Client) {
	t.Helper()
	ctx := context.Background()
	users++
	name := fmt.Sprintf("u%03d", users)
	stacks := rbacv1.PolicyRule{APIGroups: []string{appstackv1.GroupVersion.Group}, Resources: []string{"appstacks"},
		Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}}
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}}
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: append(rules(clusterPerms), stacks)}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}}
	objs := []client.Object{cr, crb}
	if len(perms) > 0 {
		ensureNamespace(t, ns)
		objs = append(objs,
			&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Rules: rules(perms)},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Subjects: subject,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}})
	}
	for _, o := range objs {
		if err := admin.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	c := as(name)
	// RBAC's caches take a moment to show new bindings: wait until they do.
	clusterWide := append(slices.Clone(clusterPerms), permission{"create", "appstacks.apps.appstack.dev"})
	for _, p := range append(slices.Clone(perms), clusterWide...) {
		resource, group, _ := strings.Cut(p.kind, ".")
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: p.verb, Group: group, Resource: resource}}}
		if !slices.Contains(clusterWide, p) {
			review.Spec.ResourceAttributes.Namespace = ns
		}
		if err := eventually(func() error {
			r := review.DeepCopy()
			if err := c.Create(ctx, r); err != nil {
				return err
			}
			if !r.Status.Allowed {
				return fmt.Errorf("%s may not %s yet", name, p)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return name, c
}

func rules(perms []permission) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, 0, len(perms))
	for _, p := range perms {
		resource, group, _ := strings.Cut(p.kind, ".")
		out = append(out, rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: []string{p.verb}})
	}
	return out
}

func ensureNamespace(t *testing.T, ns string) {
	t.Helper()
	err := admin.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
}

// eventually retries f while RBAC's caches catch up with new bindings: until it
// returns nil or 10 s have passed; it returns f's last error.
func eventually(f func() error) error {
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err = f(); err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

// refused expects f to be refused by the policy with a message that contains each
// of want; it returns the message.
func refused(t *testing.T, f func() error, want ...string) string {
	t.Helper()
	err := f()
	if err == nil {
		t.Fatalf("accepted; want a refusal naming %q", want)
	}
	msg := err.Error()
	t.Logf("refused: %s", msg)
	if !strings.Contains(msg, "ValidatingAdmissionPolicy 'appstack-privileged-stacks'") {
		t.Fatalf("refused, but not by the policy: %v", err)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("the refusal does not name %q:\n%s", w, msg)
		}
	}
	return msg
}

func without(perms []permission, drop permission) []permission {
	return slices.DeleteFunc(slices.Clone(perms), func(p permission) bool { return p == drop })
}

func verbOn(verb string, kinds []string) []permission {
	out := make([]permission, len(kinds))
	for i, k := range kinds {
		out[i] = permission{verb, k}
	}
	return out
}

// The stacks of config/samples and one of every kind and option.
func creatable(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{"everything": stack("everything", everything)}
	files, err := filepath.Glob(filepath.Join(root, "config", "samples", "apps_v1alpha1_appstack_*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &u.Object); err != nil {
			t.Fatal(err)
		}
		out[u.GetName()] = u
	}
	return out
}

const everything = `
configs: [{name: cfg, data: {a: b}}]
volumes: [{name: data, size: 1Gi}, {name: scratch, size: 1Gi, retain: false}]
components:
- name: db
  kind: StatefulSet
  containers: [{name: pg, image: postgres, ports: [{containerPort: 5432}]}]
  service: {type: ClusterIP}
  podDisruptionBudget: {maxUnavailable: 1}
- name: web
  containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]
  ingress: {host: shop.example.com}
  autoscaling: {maxReplicas: 3, targetCPUUtilizationPercentage: 80}
- {name: agent, kind: DaemonSet, containers: [{name: a, image: busybox}]}
- {name: once, kind: Job, containers: [{name: j, image: busybox, ports: [{containerPort: 9}]}]}
- {name: cron, kind: CronJob, schedule: "*/10 * * * *", containers: [{name: c, image: busybox}], service: {ports: [{port: 80}]}}
- {name: solo, kind: Pod, containers: [{name: p, image: busybox}], service: {type: None}}
`

// Creating a stack needs create on exactly the kinds internal/render makes of it,
// in its namespace, and create namespaces: with all of them the stack is accepted,
// without any one of them it is refused, naming that one.
func TestCreatingAStackNeedsCreateOnEveryKindItRenders(t *testing.T) {
	ctx := context.Background()
	for name, s := range creatable(t) {
		t.Run(name, func(t *testing.T) {
			ns := render.NamespaceName(toStack(t, s))
			need := verbOn("create", kindsOf(rendered(t, s)))
			if !slices.Contains(need, permission{"create", "deployments.apps"}) && name == "everything" {
				t.Fatal("the everything stack must render every kind")
			}
			createNS := permission{"create", "namespaces"}
			_, c := user(t, ns, need, createNS)
			if err := eventually(func() error { return c.Create(ctx, s.DeepCopy(), client.DryRunAll) }); err != nil {
				t.Fatalf("refused with every permission the stack needs (%v): %v", need, err)
			}
			for _, drop := range need {
				who, c := user(t, ns, without(need, drop), createNS)
				msg := refused(t, func() error { return c.Create(ctx, s.DeepCopy(), client.DryRunAll) },
					who+" may not create stack "+s.GetName()+": it needs permission to "+drop.String()+" in namespace "+ns+" (",
					"kubectl auth can-i "+drop.String()+" -n "+ns+" --as="+who,
					"ask the owner of namespace "+ns+" for a RoleBinding")
				if strings.Count(msg, " in namespace "+ns) != 1 {
					t.Errorf("without only %s, the refusal names more: %s", drop, msg)
				}
			}
			who, c := user(t, ns, need)
			refused(t, func() error { return c.Create(ctx, s.DeepCopy(), client.DryRunAll) },
				who+" may not create stack "+s.GetName()+": it needs permission to create namespaces (kubectl auth can-i create namespaces --all-namespaces --as="+who+")",
				"ask a platform admin for it, or use a namespace that exists: its owner runs kubectl annotate namespace "+ns+" apps.appstack.dev/adopt="+s.GetName()+" and the stack sets spec.namespace.adopt: true")
		})
	}
}

func toStack(t *testing.T, u *unstructured.Unstructured) *appstackv1.AppStack {
	t.Helper()
	s := &appstackv1.AppStack{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, s); err != nil {
		t.Fatal(err)
	}
	return s
}

// createAsAdmin stores a stack as an admin would (no operator runs here, so it gets
// no finalizer unless asked) and returns it as stored.
func createAsAdmin(t *testing.T, s *unstructured.Unstructured, finalizers ...string) *unstructured.Unstructured {
	t.Helper()
	s = s.DeepCopy()
	s.SetFinalizers(finalizers)
	if err := admin.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(s.GroupVersionKind())
		if admin.Get(context.Background(), client.ObjectKeyFromObject(s), live) == nil {
			live.SetFinalizers(nil)
			_ = admin.Update(context.Background(), live)
			_ = admin.Delete(context.Background(), live)
		}
	})
	return s
}

// withSpec is the stored stack with another spec, ready for an update.
func withSpec(t *testing.T, stored *unstructured.Unstructured, spec string) *unstructured.Unstructured {
	t.Helper()
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(stored.GroupVersionKind())
	if err := admin.Get(context.Background(), client.ObjectKeyFromObject(stored), live); err != nil {
		t.Fatal(err)
	}
	live.Object["spec"] = stack("x", spec).Object["spec"]
	return live
}

const twoWebs = `
configs: [{name: cfg, data: {a: b}}]
components:
- {name: web, containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]}
- {name: api, containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]}
`

// A spec change needs create for objects only the new spec renders, update for
// objects both render and delete for objects only the old one rendered.
func TestChangingASpecNeedsCreateUpdateAndDeleteForWhatChanges(t *testing.T) {
	ctx := context.Background()
	ns := "change"
	stored := createAsAdmin(t, stack(ns, twoWebs))
	kinds := []string{"configmaps", "deployments.apps", "services"}
	all := append(append(verbOn("create", kinds), verbOn("update", kinds)...), verbOn("delete", kinds)...)

	changes := []struct {
		what, spec string
		need       []permission
	}{
		{"a new image", strings.Replace(twoWebs, "image: nginx,", "image: nginx:1.27,", 1), verbOn("update", kinds)},
		{"a component removed", `
configs: [{name: cfg, data: {a: b}}]
components:
- {name: web, containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]}
`, append(verbOn("update", kinds), verbOn("delete", []string{"deployments.apps", "services"})...)},
		{"a component added, without a port", twoWebs + "- {name: worker, containers: [{name: w, image: busybox}]}\n",
			append(verbOn("create", []string{"deployments.apps"}), verbOn("update", kinds)...)},
	}
	for _, ch := range changes {
		t.Run(ch.what, func(t *testing.T) {
			_, c := user(t, ns, ch.need)
			if err := eventually(func() error { return c.Update(ctx, withSpec(t, stored, ch.spec), client.DryRunAll) }); err != nil {
				t.Fatalf("refused with %v: %v", ch.need, err)
			}
			for _, drop := range ch.need {
				who, c := user(t, ns, without(all, drop))
				refused(t, func() error { return c.Update(ctx, withSpec(t, stored, ch.spec), client.DryRunAll) },
					who+" may not change the spec of stack "+ns+": it needs permission to "+drop.String()+" in namespace "+ns+" (")
			}
		})
	}

	// A label, an annotation: the spec is as it was, nothing is checked.
	_, c := user(t, ns, nil)
	live := withSpec(t, stored, twoWebs)
	live.SetLabels(map[string]string{"team": "web"})
	if err := eventually(func() error { return c.Update(ctx, live, client.DryRunAll) }); err != nil {
		t.Errorf("a label on a stack is refused to a user with no rights in its namespace: %v", err)
	}
}

// Deleting a stack needs delete on what it renders — update on a retained claim,
// which is kept — and delete on the namespace it created.
func TestDeletingAStackNeedsDeleteOnWhatItRenders(t *testing.T) {
	ctx := context.Background()
	ns := "gone"
	spec := `
volumes: [{name: data, size: 1Gi}, {name: tmp, size: 1Gi, retain: false}]
components:
- {name: web, containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]}
`
	stored := createAsAdmin(t, stack(ns, spec))
	need := []permission{{"update", "persistentvolumeclaims"}, {"delete", "persistentvolumeclaims"},
		{"delete", "deployments.apps"}, {"delete", "services"}}
	deleteNS := permission{"delete", "namespaces"}
	_, c := user(t, ns, append(need, deleteNS))
	if err := eventually(func() error { return c.Delete(ctx, stored.DeepCopy(), client.DryRunAll) }); err != nil {
		t.Fatalf("refused with %v: %v", need, err)
	}
	for _, drop := range need {
		who, c := user(t, ns, append(without(need, drop), deleteNS))
		_ = eventually(func() error { return c.Get(ctx, client.ObjectKeyFromObject(stored), stored.DeepCopy()) })
		refused(t, func() error { return c.Delete(ctx, stored.DeepCopy(), client.DryRunAll) },
			who+" may not delete stack "+ns+": it needs permission to "+drop.String()+" in namespace "+ns+" (")
	}
	// The namespace itself: a RoleBinding in it grants delete on it, as the
	// apiserver authorizes a request on namespace X in namespace X.
	who, c := user(t, ns, need)
	_ = eventually(func() error { return c.Get(ctx, client.ObjectKeyFromObject(stored), stored.DeepCopy()) })
	refused(t, func() error { return c.Delete(ctx, stored.DeepCopy(), client.DryRunAll) },
		who+" may not delete stack "+ns+": it needs permission to delete namespace "+ns+" (kubectl auth can-i delete namespaces/"+ns+" -n "+ns+" --as="+who+")")
}

// Adopting a namespace needs no admin: create rights in it suffice while the stack
// leaves its settings at the defaults; setting its Pod Security level, labels or
// annotations needs update on it, which a RoleBinding in it can grant.
func TestAdoptingANamespaceNeedsUpdateOnItOnlyToChangeIt(t *testing.T) {
	ctx := context.Background()
	ns := "adopted"
	plain := "namespace: {name: adopted, adopt: true}\ncomponents: [{name: web, containers: [{name: app, image: nginx}]}]"
	need := []permission{{"create", "deployments.apps"}}
	_, c := user(t, ns, need)
	if err := eventually(func() error { return c.Create(ctx, stack("adopter", plain), client.DryRunAll) }); err != nil {
		t.Fatalf("adopting with create rights in the namespace: %v", err)
	}
	for _, settings := range []string{"podSecurity: restricted", "labels: {team: web}", "annotations: {owner: web}"} {
		s := stack("adopter", strings.Replace(plain, "adopt: true", "adopt: true, "+settings, 1))
		who, c := user(t, ns, need)
		refused(t, func() error { return c.Create(ctx, s.DeepCopy(), client.DryRunAll) },
			who+" may not create stack adopter: it needs permission to update namespace adopted (kubectl auth can-i update namespaces/adopted -n adopted --as="+who+")")
		_, c = user(t, ns, append(need, permission{"update", "namespaces"}))
		if err := eventually(func() error { return c.Create(ctx, s.DeepCopy(), client.DryRunAll) }); err != nil {
			t.Errorf("%s with update on the namespace (a RoleBinding in it): %v", settings, err)
		}
	}
	// The check asks what the apiserver asks of a real update of the namespace: a
	// RoleBinding in namespace X grants verbs on namespace X itself.
	_, c = user(t, ns, []permission{{"update", "namespaces"}, {"get", "namespaces"}})
	live := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: ns}, live); err != nil {
		t.Fatalf("get namespace %s with a RoleBinding in it: %v", ns, err)
	}
	live.Labels["team"] = "web"
	if err := c.Update(ctx, live, client.DryRunAll); err != nil {
		t.Errorf("update namespace %s with a RoleBinding in it: %v", ns, err)
	}

	// A change of the adopted namespace's settings needs the same; another change does not.
	stored := createAsAdmin(t, stack("adopter", plain))
	who, c := user(t, ns, []permission{{"update", "deployments.apps"}})
	bumped := withSpec(t, stored, strings.Replace(plain, "image: nginx", "image: nginx:1.27", 1))
	if err := eventually(func() error { return c.Update(ctx, bumped, client.DryRunAll) }); err != nil {
		t.Errorf("a new image in an adopted namespace: %v", err)
	}
	refused(t, func() error {
		return c.Update(ctx, withSpec(t, stored, strings.Replace(plain, "adopt: true", "adopt: true, labels: {team: web}", 1)), client.DryRunAll)
	}, who+" may not change the spec of stack adopter: it needs permission to update namespace adopted (")
}

// Only the operator's ServiceAccount and the admin groups may remove the finalizer;
// anyone who may update a stack may still label it.
func TestOnlyTheOperatorAndAdminsRemoveTheFinalizer(t *testing.T) {
	ctx := context.Background()
	stored := createAsAdmin(t, stack("kept", "components: [{name: web, containers: [{name: app, image: nginx}]}]"), appstackv1.Finalizer)
	strip := func(c client.Client) error {
		live := withSpec(t, stored, "components: [{name: web, containers: [{name: app, image: nginx}]}]")
		live.SetFinalizers(nil)
		return c.Update(ctx, live, client.DryRunAll)
	}
	who, editor := user(t, "kept", []permission{{"update", "deployments.apps"}, {"delete", "deployments.apps"}})
	_ = eventually(func() error { return editor.Get(ctx, client.ObjectKeyFromObject(stored), stored.DeepCopy()) })
	refused(t, func() error { return strip(editor) },
		"metadata.finalizers: "+who+" may not remove apps.appstack.dev/finalizer from stack kept: only the appstack operator and members of system:masters or appstack:platform-admins may",
		"(kubectl delete stack kept)")
	live := withSpec(t, stored, "components: [{name: web, containers: [{name: app, image: nginx}]}]")
	live.SetLabels(map[string]string{"team": "web"})
	if err := editor.Update(ctx, live, client.DryRunAll); err != nil {
		t.Errorf("a label is refused: %v", err)
	}

	// The operator, as config/default installs it: its ClusterRole lets it update
	// stacks; the policy lets it remove the finalizer.
	op := "system:serviceaccount:appstack-system:appstack-operator-controller-manager"
	grantStacks(t, "operator", rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: op})
	if err := eventually(func() error { return strip(as(op, "system:serviceaccounts", "system:serviceaccounts:appstack-system")) }); err != nil {
		t.Errorf("the operator may not remove its finalizer: %v", err)
	}
	other := "system:serviceaccount:appstack-system:someone-else"
	grantStacks(t, "other-sa", rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: other})
	_ = eventually(func() error { return as(other).Get(ctx, client.ObjectKeyFromObject(stored), stored.DeepCopy()) })
	refused(t, func() error { return strip(as(other, "system:serviceaccounts")) }, "may not remove apps.appstack.dev/finalizer")
	// A member of an admin group, the documented break-glass.
	grantStacks(t, "platform-admins", rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "appstack:platform-admins"})
	if err := eventually(func() error { return strip(as("carol", "appstack:platform-admins")) }); err != nil {
		t.Errorf("a platform admin may not remove the finalizer: %v", err)
	}
}

func grantStacks(t *testing.T, name string, subject rbacv1.Subject) {
	t.Helper()
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "stacks-" + name}, Subjects: []rbacv1.Subject{subject},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "stacks-all"}}
	if err := admin.Create(context.Background(), crb); err != nil {
		t.Fatal(err)
	}
}

// The largest stacks the CRD allows fit the apiserver's CEL budget: every check
// runs, and a user with every right is admitted; a change that would need more
// checks than one request may make is refused with a message that says so.
func TestTheBudgetHoldsForTheLargestStacks(t *testing.T) {
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("configs: [")
	for i := range 50 {
		fmt.Fprintf(&b, "{name: c%02d, data: {a: b}},", i)
	}
	b.WriteString("]\nvolumes: [")
	for i := range 50 {
		fmt.Fprintf(&b, "{name: v%02d, size: 1Gi},", i)
	}
	b.WriteString("]\ncomponents:\n")
	kinds := []string{"StatefulSet", "Deployment", "DaemonSet", "Job", "CronJob", "Pod"}
	for i := range 30 {
		k := kinds[i%len(kinds)]
		fmt.Fprintf(&b, "- name: c%02d\n  kind: %s\n  containers: [{name: a, image: b, ports: [{containerPort: 80}]}]\n", i, k)
		switch k {
		case "CronJob":
			b.WriteString("  schedule: '*/5 * * * *'\n")
		case "Deployment", "StatefulSet":
			b.WriteString("  service: {type: ClusterIP}\n  ingress: {host: a.example.com}\n  autoscaling: {maxReplicas: 3, targetCPUUtilizationPercentage: 80}\n  podDisruptionBudget: {maxUnavailable: 1}\n")
		}
	}
	big := stack("big", b.String())
	ns := "big"
	every := make([]permission, 0, 3*len(kindName))
	for _, k := range kindName {
		every = append(every, permission{"create", k}, permission{"update", k}, permission{"delete", k})
	}
	_, c := user(t, ns, every, permission{"create", "namespaces"}, permission{"delete", "namespaces"})
	if err := eventually(func() error { return c.Create(ctx, big.DeepCopy(), client.DryRunAll) }); err != nil {
		t.Fatalf("the largest stack, by a user with every right: %v", err)
	}
	stored := createAsAdmin(t, big)
	if err := c.Delete(ctx, stored.DeepCopy(), client.DryRunAll); err != nil {
		t.Fatalf("deleting the largest stack, by a user with every right: %v", err)
	}
	// Keep one object of each kind, drop one and add one: three checks a kind.
	changed := strings.NewReplacer("name: c00,", "name: x00,", "name: v00,", "name: w00,",
		"- name: c00\n", "- name: x00\n", "- name: c01\n", "- name: x01\n", "- name: c02\n", "- name: x02\n",
		"- name: c03\n", "- name: x03\n", "- name: c04\n", "- name: x04\n", "- name: c05\n", "- name: x05\n").Replace(b.String())
	refused(t, func() error { return c.Update(ctx, withSpec(t, stored, changed), client.DryRunAll) },
		"permission checks, more than the 25 one admission request may make; make the change in smaller steps")
}
