package manifest

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// TestYAMLCarriesAnyString: a string a stack may carry — with DEL, a C1 control
// or a BOM in it — prints as YAML that reads back to the same string.
func TestYAMLCarriesAnyString(t *testing.T) {
	for _, v := range []string{"plain", "del\x7f", "c1\u0090\u009f", "bom\ufeff", "tab\tnewline\n", "ünïcode ✓"} {
		d := &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "app", Image: "nginx", Env: []corev1.EnvVar{{Name: "V", Value: v}}}}}}},
		}
		b, err := YAML([]client.Object{d})
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		back := &appsv1.Deployment{}
		if err := yaml.Unmarshal(b, back); err != nil {
			t.Fatalf("%q: the YAML does not read back: %v\n%s", v, err, b)
		}
		if got := back.Spec.Template.Spec.Containers[0].Env[0].Value; got != v {
			t.Errorf("%q read back as %q", v, got)
		}
		if strings.Contains(string(b), "\\\\u") {
			t.Errorf("%q: doubly escaped:\n%s", v, b)
		}
	}
}
