package render

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Namespace is the stack's namespace with the user's labels and the stack's own.
// The stack's labels win over the user's, so ownership can always be read back.
func Namespace(stack *appstackv1.AppStack) *corev1.Namespace {
	labels := map[string]string{}
	if stack.Spec.Namespace != nil {
		for k, v := range stack.Spec.Namespace.Labels {
			labels[k] = v
		}
	}
	for k, v := range StackLabels(stack) {
		labels[k] = v
	}
	return &corev1.Namespace{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{
			Name:   NamespaceName(stack),
			Labels: labels,
		},
	}
}
