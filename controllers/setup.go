package controllers

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/appstack-dev/appstack-operator/internal/render"
)

// ownedKinds are the namespaced kinds a stack's children can be. The controller
// watches each, caches only the labelled ones, and prunes among them.
func ownedKinds() []client.Object {
	return []client.Object{
		&appsv1.Deployment{}, &appsv1.StatefulSet{}, &appsv1.DaemonSet{},
		&batchv1.Job{}, &batchv1.CronJob{}, &corev1.Pod{},
		&corev1.Service{}, &corev1.ConfigMap{}, &corev1.PersistentVolumeClaim{},
		&networkingv1.Ingress{}, &autoscalingv2.HorizontalPodAutoscaler{}, &policyv1.PodDisruptionBudget{},
		&appsv1.ControllerRevision{},
	}
}

// CacheOptions scopes the manager's cache to what the operator manages: children
// carry the managed-by label, and nobody's managedFields are worth keeping in
// memory. Everything the reconciler reads through its cached client is listed.
func CacheOptions(syncPeriod time.Duration) cache.Options {
	managed := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{render.LabelManagedBy: render.ManagedBy})}
	byObject := map[client.Object]cache.ByObject{&corev1.Namespace{}: managed}
	for _, obj := range ownedKinds() {
		byObject[obj] = managed
	}
	return cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: byObject, SyncPeriod: &syncPeriod}
}
