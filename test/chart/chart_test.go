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
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
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
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil || meta.Kind == "" {
			continue
		}
		byKind[meta.Kind] = append(byKind[meta.Kind], doc)
	}
	return byKind
}

func TestClusterRoleIsExactlyWhatTheOperatorUses(t *testing.T) {
	docs := render(t)
	generated := &rbacv1.ClusterRole{}
	b, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, generated); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, doc := range docs["ClusterRole"] {
		role := &rbacv1.ClusterRole{}
		if err := yaml.UnmarshalStrict(doc, role); err != nil {
			t.Fatal(err)
		}
		if role.Name == "appstack-appstack-operator" {
			found = true
			if !slices.EqualFunc(role.Rules, generated.Rules, func(a, b rbacv1.PolicyRule) bool {
				return slices.Equal(a.APIGroups, b.APIGroups) && slices.Equal(a.Resources, b.Resources) && slices.Equal(a.Verbs, b.Verbs)
			}) {
				t.Errorf("the chart's ClusterRole differs from the controller's RBAC markers (config/rbac/role.yaml); run `make manifests`")
			}
		}
	}
	if !found {
		t.Fatal("the chart renders no operator ClusterRole")
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
// same CEL, message for message, and the same default groups.
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
		t.Errorf("the chart's admission policy differs from config/admission/policy.yaml; run `make manifests`\nchart:\n%s\nconfig/admission:\n%s", c, k)
	}
	chartBinding.Spec.PolicyName, kBinding.Spec.PolicyName = "", ""
	if !reflect.DeepEqual(chartBinding.Spec, kBinding.Spec) {
		t.Errorf("the chart's binding differs from config/admission/binding.yaml:\nchart: %+v\nconfig/admission: %+v", chartBinding.Spec, kBinding.Spec)
	}
}
