package controller

import (
	"context"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// What failure attribution reads beyond the stack's own children: the nodes its
// pods are on (cached, trimmed to their Ready condition), IngressClasses (cached, a
// handful), the events that say what the objects do not (listed past the cache,
// only for a component that is not Ready and that nothing else explains), and the
// resource metrics API's APIService (read past the cache, only when an autoscaler
// cannot fetch metrics).
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=list
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingressclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=apiregistration.k8s.io,resources=apiservices,verbs=get

// unexplainedRecheck is how often a component that is not Ready, and that nothing
// on the cluster explains yet, is looked at again. What explains it may show only in
// events, which the operator does not watch (a StatefulSet refused at admission does
// not change its status), so without this it would stay unexplained until some
// other change. A Ready or explained component is not rechecked.
const unexplainedRecheck = 5 * time.Second

// observeUnexplained reads what may explain a component that is not Ready when its
// workload, pods, claims and nodes do not: the FailedCreate events of a StatefulSet
// or DaemonSet, and the kubelet's Warning events for its pods (FailedMount, a
// readiness probe's Unhealthy). Events are listed from the apiserver, narrowed by
// field selectors, never cached or watched.
func (r *AppStackReconciler) observeUnexplained(ctx context.Context, s *scope, obs *status.Observed) {
	var events []corev1.Event
	switch w := obs.Workload.(type) {
	case *appsv1.StatefulSet, *appsv1.DaemonSet:
		events = append(events, r.listEvents(ctx, s.namespace, fields.Set{
			"involvedObject.uid": string(w.GetUID()), "reason": status.ReasonFailedCreate})...)
	}
	if len(obs.Pods) > 0 {
		events = append(events, r.listEvents(ctx, s.namespace, fields.Set{
			"involvedObject.kind": "Pod", "type": corev1.EventTypeWarning})...)
	}
	obs.Events = events
}

func (r *AppStackReconciler) listEvents(ctx context.Context, namespace string, sel fields.Set) []corev1.Event {
	list := &corev1.EventList{}
	if err := r.APIReader.List(ctx, list, client.InNamespace(namespace),
		client.MatchingFieldsSelector{Selector: fields.SelectorFromSet(sel)}); err != nil {
		logf.FromContext(ctx).Error(err, "list events for status", "namespace", namespace, "selector", sel.String())
		return nil
	}
	return list.Items
}

// observeNodes reads, through the cache, the nodes that the component's pods that
// are not ready are on.
func (r *AppStackReconciler) observeNodes(ctx context.Context, obs *status.Observed) {
	seen := map[string]bool{}
	for _, p := range obs.Pods {
		name := p.Spec.NodeName
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		node := &corev1.Node{}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, node); err != nil {
			if !apierrors.IsNotFound(err) {
				logf.FromContext(ctx).Error(err, "read node for status", "node", name)
			}
			continue
		}
		obs.Nodes = append(obs.Nodes, *node)
	}
}

// observeExposure reads, from the cache, the component's autoscaler and Ingress:
// what a Ready component's STATUS warns about.
func (r *AppStackReconciler) observeExposure(
	ctx context.Context, s *scope, c *appstackv1.Component, obs *status.Observed,
) {
	key := client.ObjectKey{Namespace: s.namespace, Name: c.Name}
	if c.Autoscaling != nil {
		hpa := &autoscalingv2.HorizontalPodAutoscaler{}
		if r.getOwned(ctx, s, key, hpa) {
			obs.Autoscaler = hpa
		}
	}
	if c.Ingress != nil {
		ing := &networkingv1.Ingress{}
		if r.getOwned(ctx, s, key, ing) {
			obs.Ingress = ing
			obs.IngressClassExists = func(name string) bool {
				err := r.Client.Get(ctx, client.ObjectKey{Name: name}, &networkingv1.IngressClass{})
				return !apierrors.IsNotFound(err)
			}
		}
	}
}

// metricsAPIAnswer remembers, for a while, what the resource metrics API's
// APIService said: every stack whose autoscaler cannot fetch metrics asks, and
// the answer is the same for all of them. It is a read cache of the cluster, not
// a stack's: the reconciler holds one.
type metricsAPIAnswer struct {
	sync.Mutex
	at     time.Time
	answer string
}

// metricsAPIMemory is how long an answer about the metrics APIService is reused.
const metricsAPIMemory = 30 * time.Second

var apiServiceGVK = schema.GroupVersionKind{Group: "apiregistration.k8s.io", Version: "v1", Kind: "APIService"}

// describeMetricsAPI says why the resource metrics API does not answer, from its
// APIService: absent (nothing serves it), or not Available (its server does not
// answer). "" when that cannot be told.
func (r *AppStackReconciler) describeMetricsAPI(ctx context.Context) string {
	m := &r.metricsAPI
	m.Lock()
	defer m.Unlock()
	if !m.at.IsZero() && r.now().Sub(m.at) < metricsAPIMemory {
		return m.answer
	}
	svc := &unstructured.Unstructured{}
	svc.SetGroupVersionKind(apiServiceGVK)
	answer := ""
	err := r.APIReader.Get(ctx, client.ObjectKey{Name: status.MetricsAPIService}, svc)
	switch {
	case apierrors.IsNotFound(err):
		answer = "APIService " + status.MetricsAPIService + " does not exist"
	case err != nil:
		logf.FromContext(ctx).Error(err, "read the metrics APIService for status")
	default:
		conds, _, _ := unstructured.NestedSlice(svc.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Available" && m["status"] != "True" {
				answer = "APIService " + status.MetricsAPIService + " is not Available"
				if reason, _ := m["reason"].(string); reason != "" {
					answer += " (" + reason + ")"
				}
			}
		}
	}
	m.at, m.answer = r.now(), answer
	return answer
}

// trimNode keeps of a node what failure attribution reads: its name and its Ready
// condition. Nodes are cached for that alone; whole, a large cluster's would cost
// megabytes (images, addresses, allocatable).
func trimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	out := &corev1.Node{}
	out.Name, out.UID, out.ResourceVersion = n.Name, n.UID, n.ResourceVersion
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			out.Status.Conditions = []corev1.NodeCondition{{Type: c.Type, Status: c.Status, Reason: c.Reason}}
		}
	}
	return out, nil
}

// evictionMessage is a pod's status message when the kubelet evicted it (which
// resource ran short, which container used too much), else "".
func evictionMessage(st corev1.PodStatus) string {
	if st.Reason == status.ReasonEvicted {
		return st.Message
	}
	return ""
}
