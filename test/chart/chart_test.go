// Package chart checks the Helm chart as rendered: least-privilege RBAC, a
// restricted operator pod, CRDs that survive uninstall, and the admission policy
// that reserves privileged stacks to admin groups, the same as config/admission.
package chart

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	stackrender "github.com/appstack-dev/appstack-operator/internal/render"
)

var root = filepath.Join("..", "..")

// render runs `helm template` with the project's helm (bin/helm).
func render(t *testing.T, args ...string) map[string][][]byte {
	t.Helper()
	helm := filepath.Join(root, "bin", "helm")
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("%s is missing: run `make tools` (hack/tools.sh helm)", helm)
	}
	cmd := exec.Command(helm, append([]string{"template", "appstack", filepath.Join(root, "charts", "appstack-operator"),
		"--namespace", "appstack-system", "--kube-version", "1.36.3"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v: %s", err, stderr.String())
	}
	byKind := map[string][][]byte{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil || head.Kind == "" {
			continue
		}
		byKind[head.Kind] = append(byKind[head.Kind], doc)
	}
	return byKind
}

// grants flattens RBAC rules into one "verb resource.group" ("verb resource" in
// the core group, "verb URL" for a non-resource URL) per permission, as kubectl
// names them, so that two roles compare whatever the grouping and order of their
// rules.
func grants(rules []rbacv1.PolicyRule) map[string]bool {
	out := map[string]bool{}
	for _, r := range rules {
		for _, verb := range r.Verbs {
			for _, url := range r.NonResourceURLs {
				out[verb+" "+url] = true
			}
			for _, group := range r.APIGroups {
				for _, resource := range r.Resources {
					out[grant(verb, group, resource)] = true
				}
			}
		}
	}
	return out
}

func grant(verb, group, resource string) string {
	if group == "" {
		return verb + " " + resource
	}
	return verb + " " + resource + "." + group
}

// differ lists, sorted, what one set of grants has and the other has not.
func differ(have, want map[string]bool) (extra, missing []string) {
	for g := range have {
		if !want[g] {
			extra = append(extra, g)
		}
	}
	for g := range want {
		if !have[g] {
			missing = append(missing, g)
		}
	}
	slices.Sort(extra)
	slices.Sort(missing)
	return extra, missing
}

// renderedRole is the rules of the chart's (Cluster)Role of kind named name,
// rendered with args.
func renderedRole(t *testing.T, kind, name string, args ...string) []rbacv1.PolicyRule {
	t.Helper()
	for _, doc := range render(t, args...)[kind] {
		role := &rbacv1.ClusterRole{}
		if err := yaml.Unmarshal(doc, role); err != nil {
			t.Fatal(err)
		}
		if role.Name == name {
			return role.Rules
		}
	}
	t.Fatalf("the chart renders no %s %s", kind, name)
	return nil
}

// operatorUses is what the operator does with the API, derived from the renderer
// and stated here, apart from the RBAC markers the chart's ClusterRole is
// generated from (make manifests copies config/rbac/role.yaml into the chart, so a
// comparison of the two could never fail):
//   - every kind the renderer makes (render.ChildKinds, the stack's namespace and
//     its ControllerRevisions): the cache lists and watches them, server-side apply
//     creates and patches them, a conflict reads one past the cache, and prune and
//     deletion delete them;
//   - the stacks: read and watched, their finalizer patched, their status written,
//     and update on appstacks/finalizers, which blockOwnerDeletion on the children's
//     owner references asks for;
//   - the events of transitions (events.k8s.io, the manager's recorder);
//   - what failure attribution reads (internal/status's inputs): node readiness, the
//     core events of a failing pod, whether an IngressClass or StorageClass exists,
//     and the resource metrics API's APIService.
func operatorUses(t *testing.T) map[string]bool {
	t.Helper()
	used := map[string]bool{}
	add := func(group, resource string, verbs ...string) {
		for _, v := range verbs {
			used[grant(v, group, resource)] = true
		}
	}
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	revision, err := stackrender.Revision(stack, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range append(stackrender.ChildKinds(), stackrender.Namespace(stack), revision) {
		gvk, err := apiutil.GVKForObject(obj, clientgoscheme.Scheme)
		if err != nil {
			t.Fatal(err)
		}
		plural, _ := meta.UnsafeGuessKindToResource(gvk)
		add(gvk.Group, plural.Resource, "get", "list", "watch", "create", "patch", "delete")
	}
	group := appstackv1.GroupVersion.Group
	add(group, "appstacks", "get", "list", "watch", "patch")
	add(group, "appstacks/status", "get", "update", "patch")
	add(group, "appstacks/finalizers", "update")
	add("events.k8s.io", "events", "create", "patch")
	add("", "nodes", "get", "list", "watch")
	add("", "events", "list")
	add("networking.k8s.io", "ingressclasses", "get", "list", "watch")
	add("storage.k8s.io", "storageclasses", "get", "list", "watch")
	add("apiregistration.k8s.io", "apiservices", "get")
	return used
}

// The chart's ClusterRole grants the operator exactly what it uses: a kind the
// renderer makes without its RBAC marker, or a marker for what it does not use,
// fails here.
func TestClusterRoleIsExactlyWhatTheOperatorUses(t *testing.T) {
	extra, missing := differ(grants(renderedRole(t, "ClusterRole", "appstack-appstack-operator")), operatorUses(t))
	if len(missing) > 0 {
		t.Errorf("the chart's ClusterRole lacks what the operator uses: %v; add the +kubebuilder:rbac markers "+
			"(internal/controller/appstack_controller.go) and run `make manifests`", missing)
	}
	if len(extra) > 0 {
		t.Errorf("the chart's ClusterRole grants what the operator does not use: %v; remove the +kubebuilder:rbac markers "+
			"(internal/controller) and run `make manifests`, or, if the operator does use it now, say so in operatorUses", extra)
	}
}

// The chart writes its leader-election and metrics roles by hand, as config/rbac
// does for the kustomize install: both installs grant the same.
func TestHandWrittenRolesMatchKustomize(t *testing.T) {
	for _, r := range []struct{ kind, chart, file string }{
		{"Role", "appstack-appstack-operator-leader-election", "leader_election_role.yaml"},
		{"ClusterRole", "appstack-appstack-operator-metrics-auth", "metrics_auth_role.yaml"},
		{"ClusterRole", "appstack-appstack-operator-metrics-reader", "metrics_reader_role.yaml"},
	} {
		b, err := os.ReadFile(filepath.Join(root, "config", "rbac", r.file))
		if err != nil {
			t.Fatal(err)
		}
		kustomize := &rbacv1.ClusterRole{}
		if err := yaml.Unmarshal(b, kustomize); err != nil {
			t.Fatalf("config/rbac/%s: %v", r.file, err)
		}
		extra, missing := differ(grants(renderedRole(t, r.kind, r.chart)), grants(kustomize.Rules))
		if len(extra)+len(missing) > 0 {
			t.Errorf("%s %s (charts/appstack-operator/templates/rbac.yaml) differs from config/rbac/%s: only the chart grants %v, only config/rbac %v",
				r.kind, r.chart, r.file, extra, missing)
		}
	}
}

func TestNoRoleGrantsTooMuch(t *testing.T) {
	docs := render(t)
	for _, kind := range []string{"ClusterRole", "Role"} {
		for _, doc := range docs[kind] {
			role := &rbacv1.ClusterRole{}
			if err := yaml.Unmarshal(doc, role); err != nil {
				t.Fatal(err)
			}
			for _, rule := range role.Rules {
				for _, list := range [][]string{rule.APIGroups, rule.Resources, rule.Verbs, rule.NonResourceURLs} {
					if slices.Contains(list, "*") {
						t.Errorf("%s %s: wildcard in %+v", kind, role.Name, rule)
					}
				}
				for _, verb := range []string{"escalate", "bind", "impersonate"} {
					if slices.Contains(rule.Verbs, verb) {
						t.Errorf("%s %s: verb %s in %+v", kind, role.Name, verb, rule)
					}
				}
				if slices.Contains(rule.Resources, "secrets") {
					t.Errorf("%s %s: the operator must not read Secrets: %+v", kind, role.Name, rule)
				}
			}
		}
	}
}

func TestOperatorPodIsRestricted(t *testing.T) {
	docs := render(t)
	if len(docs["Deployment"]) != 1 {
		t.Fatalf("want one Deployment, got %d", len(docs["Deployment"]))
	}
	d := &appsv1.Deployment{}
	if err := yaml.UnmarshalStrict(docs["Deployment"][0], d); err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("pod securityContext is not restricted: %+v", pod.SecurityContext)
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil ||
		*sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext is not restricted: %+v", sc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("requests and limits are required: %+v", c.Resources)
	}
	if !slices.Contains(c.Args, "--leader-elect=true") {
		t.Errorf("leader election must be on by default: %v", c.Args)
	}
	i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOMEMLIMIT" })
	if i < 0 || c.Env[i].ValueFrom == nil || c.Env[i].ValueFrom.ResourceFieldRef == nil ||
		c.Env[i].ValueFrom.ResourceFieldRef.Resource != "limits.memory" || c.Env[i].ValueFrom.ResourceFieldRef.ContainerName != c.Name {
		t.Errorf("GOMEMLIMIT must follow the container's memory limit: %+v", c.Env)
	}
}

func TestCRDIsKeptOnUninstall(t *testing.T) {
	docs := render(t)
	if len(docs["CustomResourceDefinition"]) != 1 {
		t.Fatalf("want the AppStack CRD, got %d CRDs", len(docs["CustomResourceDefinition"]))
	}
	var crd struct {
		Metadata struct {
			Annotations map[string]string
		}
	}
	if err := yaml.Unmarshal(docs["CustomResourceDefinition"][0], &crd); err != nil {
		t.Fatal(err)
	}
	if crd.Metadata.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("the CRD must carry helm.sh/resource-policy: keep, or uninstalling deletes every stack")
	}
	if got := render(t, "--set", "installCRDs=false")["CustomResourceDefinition"]; len(got) != 0 {
		t.Errorf("installCRDs=false still renders a CRD")
	}
}

// admission returns the chart's admission policy and binding rendered with args.
func admission(t *testing.T, args ...string) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	t.Helper()
	docs := render(t, args...)
	if len(docs["ValidatingAdmissionPolicy"]) != 1 || len(docs["ValidatingAdmissionPolicyBinding"]) != 1 {
		t.Fatalf("want one ValidatingAdmissionPolicy and one binding, got %d and %d",
			len(docs["ValidatingAdmissionPolicy"]), len(docs["ValidatingAdmissionPolicyBinding"]))
	}
	policy := &admissionv1.ValidatingAdmissionPolicy{}
	if err := yaml.UnmarshalStrict(docs["ValidatingAdmissionPolicy"][0], policy); err != nil {
		t.Fatal(err)
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{}
	if err := yaml.UnmarshalStrict(docs["ValidatingAdmissionPolicyBinding"][0], binding); err != nil {
		t.Fatal(err)
	}
	return policy, binding
}

// adminGroups reads the list literal of the policy's adminGroups variable.
func adminGroups(t *testing.T, p *admissionv1.ValidatingAdmissionPolicy) []string {
	t.Helper()
	return listVariable(t, p, "adminGroups")
}

// listVariable reads the list literal of one of the policy's variables.
func listVariable(t *testing.T, p *admissionv1.ValidatingAdmissionPolicy, name string) []string {
	t.Helper()
	for _, v := range p.Spec.Variables {
		if v.Name == name {
			var list []string
			// The chart writes it as a JSON list of strings, which is also a CEL list literal.
			if err := json.Unmarshal([]byte(v.Expression), &list); err != nil {
				t.Fatalf("%s is not a list of strings: %q: %v", name, v.Expression, err)
			}
			return list
		}
	}
	t.Fatalf("policy %s has no %s variable", p.Name, name)
	return nil
}

func TestAdmissionPolicyReservesPrivilegedStacksToAdminGroups(t *testing.T) {
	policy, binding := admission(t)
	if binding.Spec.PolicyName != policy.Name {
		t.Errorf("the binding names policy %q, the policy is %q", binding.Spec.PolicyName, policy.Name)
	}
	if !slices.Equal(binding.Spec.ValidationActions, []admissionv1.ValidationAction{admissionv1.Deny}) {
		t.Errorf("the binding must deny: %v", binding.Spec.ValidationActions)
	}
	if policy.Spec.FailurePolicy == nil || *policy.Spec.FailurePolicy != admissionv1.Fail {
		t.Errorf("the policy must fail closed: %v", policy.Spec.FailurePolicy)
	}
	if got, want := adminGroups(t, policy), []string{"system:masters", "appstack:platform-admins"}; !slices.Equal(got, want) {
		t.Errorf("default admin groups: got %v, want %v", got, want)
	}
	rules := policy.Spec.MatchConstraints.ResourceRules
	if len(rules) != 1 || !slices.Equal(rules[0].APIGroups, []string{"apps.appstack.dev"}) || !slices.Equal(rules[0].Resources, []string{"appstacks"}) ||
		!slices.Equal(rules[0].Operations, []admissionv1.OperationType{admissionv1.Create, admissionv1.Update, admissionv1.Delete}) {
		t.Errorf("the policy must match CREATE, UPDATE and DELETE of appstacks: %+v", rules)
	}
	if len(policy.Spec.MatchConditions) != 0 {
		t.Errorf("the policy must see every write of a stack (a metadata-only update can remove the finalizer): %+v", policy.Spec.MatchConditions)
	}
	// The operator, the only user besides the admin groups that may remove the
	// finalizer, is this release's ServiceAccount in the release's namespace.
	if got, want := listVariable(t, policy, "operators"), []string{"system:serviceaccount:appstack-system:appstack-appstack-operator"}; !slices.Equal(got, want) {
		t.Errorf("operators: got %v, want %v", got, want)
	}
	// README.md and config/admission/kustomization.yaml patch these two by index.
	if len(policy.Spec.Variables) < 2 || policy.Spec.Variables[0].Name != "adminGroups" || policy.Spec.Variables[1].Name != "operators" {
		t.Errorf("variables 0 and 1 must be adminGroups and operators (the documented patches name them by index)")
	}
	// Every field the policy reserves has a validation whose message names it.
	var messages string
	for _, v := range policy.Spec.Validations {
		messages += v.MessageExpression + "\n" + v.Message + "\n"
	}
	for _, field := range []string{"spec.namespace.podSecurity", "].hostPath", "metadata.finalizers",
		"].securityContext.privileged", "].securityContext.capabilities.add", "].tolerations[", "kubectl auth can-i"} {
		if !strings.Contains(messages, field) {
			t.Errorf("no validation message names %s", field)
		}
	}

	policy, _ = admission(t, "--set", `admissionPolicy.adminGroups={ops,sre:on-call}`, "--namespace", "platform-ops")
	if got, want := adminGroups(t, policy), []string{"ops", "sre:on-call"}; !slices.Equal(got, want) {
		t.Errorf("admissionPolicy.adminGroups: got %v, want %v", got, want)
	}
	if got, want := listVariable(t, policy, "operators"), []string{"system:serviceaccount:platform-ops:appstack-appstack-operator"}; !slices.Equal(got, want) {
		t.Errorf("operators, installed into namespace platform-ops: got %v, want %v", got, want)
	}

	docs := render(t, "--set", "admissionPolicy.enabled=false")
	if n := len(docs["ValidatingAdmissionPolicy"]) + len(docs["ValidatingAdmissionPolicyBinding"]); n != 0 {
		t.Errorf("admissionPolicy.enabled=false still renders %d admission objects", n)
	}
}

// The chart and the kustomize install (config/admission) carry the same policy: the
// same CEL, message for message, and the same default groups. The chart's policy is
// a copy of config/admission/policy.yaml (make manifests); what this checks under
// `make test` is that templates/admission-policy.yaml changes nothing of it but its
// name, labels and the adminGroups and operators variables, that the hand-written
// bindings agree, and that config/admission names config/default's operator.
func TestAdmissionPolicyMatchesKustomize(t *testing.T) {
	chartPolicy, chartBinding := admission(t)
	dir := filepath.Join(root, "config", "admission")
	kPolicy := &admissionv1.ValidatingAdmissionPolicy{}
	kBinding := &admissionv1.ValidatingAdmissionPolicyBinding{}
	for file, obj := range map[string]any{"policy.yaml": kPolicy, "binding.yaml": kBinding} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(b, obj); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	if kBinding.Spec.PolicyName != kPolicy.Name {
		t.Errorf("config/admission: the binding names policy %q, the policy is %q", kBinding.Spec.PolicyName, kPolicy.Name)
	}
	// The operator differs by install: the kustomize one is config/default's
	// ServiceAccount (namespace, namePrefix and config/rbac's name).
	var def struct {
		Namespace  string `json:"namespace"`
		NamePrefix string `json:"namePrefix"`
	}
	sa := &corev1.ServiceAccount{}
	for file, obj := range map[string]any{filepath.Join("default", "kustomization.yaml"): &def, filepath.Join("rbac", "service_account.yaml"): sa} {
		b, err := os.ReadFile(filepath.Join(root, "config", file))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, obj); err != nil {
			t.Fatalf("config/%s: %v", file, err)
		}
	}
	if got, want := listVariable(t, kPolicy, "operators"), []string{"system:serviceaccount:" + def.Namespace + ":" + def.NamePrefix + sa.Name}; !slices.Equal(got, want) {
		t.Errorf("config/admission: operators is %v, but config/default runs the operator as %v", got, want)
	}
	for _, p := range []*admissionv1.ValidatingAdmissionPolicy{chartPolicy, kPolicy} {
		for i := range p.Spec.Variables {
			if p.Spec.Variables[i].Name == "operators" {
				p.Spec.Variables[i].Expression = "(the install's own)"
			}
		}
	}
	if !reflect.DeepEqual(chartPolicy.Spec, kPolicy.Spec) {
		c, _ := yaml.Marshal(chartPolicy.Spec)
		k, _ := yaml.Marshal(kPolicy.Spec)
		t.Errorf("the chart's admission policy differs from config/admission/policy.yaml: run `make manifests` (a stale copy), "+
			"or see templates/admission-policy.yaml, which may change only the name, labels and two variables\nchart:\n%s\nconfig/admission:\n%s", c, k)
	}
	chartBinding.Spec.PolicyName, kBinding.Spec.PolicyName = "", ""
	if !reflect.DeepEqual(chartBinding.Spec, kBinding.Spec) {
		t.Errorf("the chart's binding differs from config/admission/binding.yaml:\nchart: %+v\nconfig/admission: %+v", chartBinding.Spec, kBinding.Spec)
	}
}
