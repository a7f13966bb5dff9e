package render_test

import (
	"maps"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func TestNamespacePodSecurity(t *testing.T) {
	g := NewWithT(t)
	stack := stackWith(appstackv1.Component{Name: "web", Containers: []corev1.Container{container("a")}})
	g.Expect(render.Namespace(stack).Labels).To(And(
		HaveKeyWithValue(render.LabelPodSecurityEnforce, "baseline"), Not(HaveKey(render.LabelPodSecurityWarn))))
	stack.Spec.Namespace = &appstackv1.NamespaceSpec{PodSecurity: appstackv1.PodSecurityRestricted,
		Labels: map[string]string{render.LabelStack: "spoofed", "team": "web"}, Annotations: map[string]string{"owner": "me"}}
	ns := render.Namespace(stack)
	g.Expect(ns.Labels).To(And(
		HaveKeyWithValue(render.LabelPodSecurityEnforce, "restricted"),
		HaveKeyWithValue(render.LabelPodSecurityWarn, "restricted"),
		HaveKeyWithValue(render.LabelPodSecurityAudit, "restricted"),
		HaveKeyWithValue("team", "web"),
		HaveKeyWithValue(render.LabelStack, "shop"),
	), "the stack's own labels win over the user's")
	g.Expect(ns.Annotations).To(HaveKeyWithValue("owner", "me"))
}

// A stack stored before the CRD refused them may hold namespace labels that the
// operator or Pod Security interpret: they never reach the namespace (a retained
// label would be removed and put back on every pass; an old enforce-version would
// weaken Pod Security).
func TestNamespaceDropsReservedKeys(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Spec: appstackv1.AppStackSpec{
		Namespace: &appstackv1.NamespaceSpec{
			Labels: map[string]string{"team": "web", render.LabelRetained: "true",
				render.LabelPodSecurityEnforceVersion: "v1.18", render.LabelPodSecurityWarn: "privileged"},
			Annotations: map[string]string{"owner": "web-team", render.AnnotationStackUID: "forged"},
		},
	}}
	ns := render.Namespace(stack)
	want := map[string]string{"team": "web", render.LabelPodSecurityEnforce: "baseline", render.LabelPodSecurityEnforceVersion: "latest",
		render.LabelInstance: "shop", render.LabelManagedBy: render.ManagedBy, render.LabelStack: "shop"}
	if !maps.Equal(ns.Labels, want) {
		t.Errorf("labels %v, want %v", ns.Labels, want)
	}
	if !maps.Equal(ns.Annotations, map[string]string{"owner": "web-team"}) {
		t.Errorf("annotations %v", ns.Annotations)
	}
}
