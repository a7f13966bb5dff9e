package render

import (
	"maps"
	"strings"

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
		// The CRD refuses these keys; a stack stored before it did may still hold
		// them. The operator's own keys and the Pod Security labels are set below
		// or by the operator, never by the spec: a retained label the spec set
		// would be taken off and put back on every pass, and an old policy version
		// would weaken the namespace's Pod Security.
		maps.DeleteFunc(labels, func(k, _ string) bool { return reservedKey(k) })
		maps.DeleteFunc(annotations, func(k, _ string) bool { return reservedKey(k) })
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

// reservedKey tells whether a namespace label or annotation key is the operator's
// or Pod Security's, never taken from the spec.
func reservedKey(k string) bool {
	return strings.HasPrefix(k, "apps.appstack.dev/") || strings.HasPrefix(k, "pod-security.kubernetes.io/")
}
