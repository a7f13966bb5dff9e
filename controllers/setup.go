package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/appstack-dev/appstack-operator/internal/render"
)

// CacheOptions scopes the manager's cache to what the operator manages: children
// carry the managed-by label, and nobody's managedFields are worth keeping in
// memory. Everything the reconciler reads through its cached client must be listed.
func CacheOptions() cache.Options {
	managed := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{render.LabelManagedBy: render.ManagedBy})}
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Namespace{}:  managed,
			&corev1.Service{}:    managed,
			&appsv1.Deployment{}: managed,
		},
	}
}
