package render

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// AnnotationConfigHash on a pod template changes whenever a config the pods use
// changes, which rolls the pods.
const AnnotationConfigHash = "apps.appstack.dev/config-hash"

// ConfigMap renders a stack config.
func ConfigMap(stack *appstackv1.AppStack, cfg *appstackv1.Config) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      cfg.Name,
			Namespace: NamespaceName(stack),
			Labels:    StackLabels(stack),
		},
		Data: maps.Clone(cfg.Data),
	}
}

// configHash hashes the data of every stack config the component uses (mounted, or
// referenced from env/envFrom), or returns "" when it uses none.
func configHash(stack *appstackv1.AppStack, c *appstackv1.Component) string {
	used := map[string]bool{}
	for _, v := range c.Volumes {
		if v.Config != "" {
			used[v.Config] = true
		}
	}
	for _, ctr := range slices.Concat(c.InitContainers, c.Containers) {
		for _, e := range ctr.EnvFrom {
			if e.ConfigMapRef != nil {
				used[e.ConfigMapRef.Name] = true
			}
		}
		for _, e := range ctr.Env {
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				used[e.ValueFrom.ConfigMapKeyRef.Name] = true
			}
		}
	}
	h := sha256.New()
	n := 0
	for _, cfg := range stack.Spec.Configs { // spec order: deterministic
		if !used[cfg.Name] {
			continue
		}
		n++
		h.Write([]byte(cfg.Name + "\x00"))
		for _, k := range slices.Sorted(maps.Keys(cfg.Data)) {
			h.Write([]byte(k + "\x00" + cfg.Data[k] + "\x00"))
		}
	}
	if n == 0 {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
