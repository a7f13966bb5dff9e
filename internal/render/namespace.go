package render

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Pod Security Admission labels (https://kubernetes.io/docs/concepts/security/pod-security-admission/).
const (
	LabelPodSecurityEnforce = "pod-security.kubernetes.io/enforce"
	LabelPodSecurityWarn    = "pod-security.kubernetes.io/warn"
	LabelPodSecurityAudit   = "pod-security.kubernetes.io/audit"
	// LabelPodSecurityEnforceVersion pins the policy version: latest, so that no
	// label can hold a namespace to the checks of an old Kubernetes release.
	LabelPodSecurityEnforceVersion = "pod-security.kubernetes.io/enforce-version"
)

// Namespace is the stack's namespace with the user's labels and annotations, the
// Pod Security level, and the stack's own labels, which win so that ownership can
// always be read back.
func Namespace(stack *appstackv1.AppStack) *corev1.Namespace {
	labels := map[string]string{}
	var annotations map[string]string
	level := appstackv1.PodSecurityBaseline
	if ns := stack.Spec.Namespace; ns != nil {
		maps.Copy(labels, ns.Labels)
		if len(ns.Annotations) > 0 {
			annotations = maps.Clone(ns.Annotations)
		}
		if ns.PodSecurity != "" {
			level = ns.PodSecurity
		}
	}
	labels[LabelPodSecurityEnforce] = string(level)
	labels[LabelPodSecurityEnforceVersion] = "latest"
	if level == appstackv1.PodSecurityRestricted {
		labels[LabelPodSecurityWarn] = string(level)
		labels[LabelPodSecurityAudit] = string(level)
	}
	maps.Copy(labels, StackLabels(stack))
	return &corev1.Namespace{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        NamespaceName(stack),
			Labels:      labels,
			Annotations: annotations,
		},
	}
}
