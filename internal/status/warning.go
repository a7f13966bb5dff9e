package status

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// Reasons a Ready component carries when part of it does not work: its pods serve,
// so it stays Ready (dependents start, kubectl wait returns), but the stack's STATUS
// column shows the reason instead of Ready.
const (
	ReasonMetricsUnavailable   = "MetricsUnavailable"
	ReasonLoadBalancerPending  = "LoadBalancerPending"
	ReasonIngressClassNotFound = "IngressClassNotFound"
	ReasonIngressPending       = "IngressPending"
)

// AddressGrace is how long a LoadBalancer Service or an Ingress may go without an
// address before the stack says that nothing in the cluster serves it. Cloud
// load balancers get theirs within seconds to a minute or so (a hostname at once on
// some clouds, an IP after provisioning on others), and an ingress controller
// publishes its address as soon as it has synced the Ingress; two minutes leaves
// room for a slow cloud without leaving a cluster that has no such controller
// unexplained for long.
const AddressGrace = 2 * time.Minute

// MetricsAPIService is the APIService of the resource metrics API that
// HorizontalPodAutoscalers read CPU and memory from (metrics-server serves it).
const MetricsAPIService = "v1beta1.metrics.k8s.io"

// warning finds what does not work of a component that is Ready, in this order: an
// autoscaler that cannot fetch metrics, a LoadBalancer Service without an address
// after AddressGrace, an Ingress whose class does not exist (at once) or that has no
// address after AddressGrace.
func warning(stack *appstackv1.AppStack, c *appstackv1.Component, obs Observed) (string, string, bool) {
	if r, m, ok := metricsUnavailable(c, obs); ok {
		return r, m, true
	}
	if r, m, ok := loadBalancerPending(stack, c, obs); ok {
		return r, m, true
	}
	return ingressProblem(c, obs)
}

// metricsFetch is how the autoscaler says that a metrics API did not answer at all
// (not that it answered without metrics for some pods, which happens for a minute
// after every rollout).
var metricsFetch = regexp.MustCompile(`unable to fetch metrics from (resource|custom|external) metrics API`)

func metricsUnavailable(c *appstackv1.Component, obs Observed) (string, string, bool) {
	hpa := obs.Autoscaler
	if hpa == nil {
		return "", "", false
	}
	for _, cond := range hpa.Status.Conditions {
		if cond.Type != autoscalingv2.ScalingActive || cond.Status != corev1.ConditionFalse || !strings.HasPrefix(cond.Reason, "FailedGet") {
			continue
		}
		m := metricsFetch.FindStringSubmatch(cond.Message)
		if m == nil {
			continue
		}
		replicas := ""
		if c.Autoscaling != nil {
			replicas = fmt.Sprintf(" (autoscaling.minReplicas %d or what it last set)", ptr.Deref(c.Autoscaling.MinReplicas, 1))
		}
		if m[1] != "resource" {
			return ReasonMetricsUnavailable, fmt.Sprintf("HorizontalPodAutoscaler %s cannot read metrics: no %s metrics API answers "+
				"(%s); install the adapter that serves it — until then the replicas stay where they are%s",
				hpa.Name, m[1], cond.Reason, replicas), true
		}
		api := "the resource metrics API"
		if obs.MetricsAPI != "" {
			api += ", " + obs.MetricsAPI
		}
		return ReasonMetricsUnavailable, fmt.Sprintf("HorizontalPodAutoscaler %s cannot read CPU or memory: no metrics API answers (%s); "+
			"install metrics-server — until then the replicas stay where they are%s", hpa.Name, api, replicas), true
	}
	return "", "", false
}

func loadBalancerPending(stack *appstackv1.AppStack, c *appstackv1.Component, obs Observed) (string, string, bool) {
	svc := obs.Service
	if svc == nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Status.LoadBalancer.Ingress) > 0 || !pastGrace(obs, svc.CreationTimestamp.Time) {
		return "", "", false
	}
	return ReasonLoadBalancerPending, fmt.Sprintf("Service %s of type LoadBalancer has no address after %s: no load-balancer controller in this "+
		"cluster has served it; install one (the cloud provider's, or MetalLB on bare metal) or set spec.components[%s].service.type "+
		"to NodePort; kubectl describe service %s -n %s shows its events",
		svc.Name, AddressGrace, c.Name, svc.Name, render.NamespaceName(stack)), true
}

func ingressProblem(c *appstackv1.Component, obs Observed) (string, string, bool) {
	ing := obs.Ingress
	if ing == nil || len(ing.Status.LoadBalancer.Ingress) > 0 {
		return "", "", false
	}
	class := ptr.Deref(ing.Spec.IngressClassName, "")
	if class != "" && obs.IngressClassExists != nil && !obs.IngressClassExists(class) {
		return ReasonIngressClassNotFound, fmt.Sprintf("Ingress %s names IngressClass %q, which does not exist: no controller will serve it; "+
			"set spec.components[%s].ingress.className to one of kubectl get ingressclass, or install the controller of %q",
			ing.Name, class, c.Name, class), true
	}
	if !pastGrace(obs, ing.CreationTimestamp.Time) {
		return "", "", false
	}
	served := "the cluster's default class"
	if class != "" {
		served = fmt.Sprintf("IngressClass %q", class)
	}
	return ReasonIngressPending, fmt.Sprintf("Ingress %s has no address after %s: no ingress controller in this cluster serves %s; "+
		"install one (e.g. ingress-nginx) or set spec.components[%s].ingress.className to a class that is served",
		ing.Name, AddressGrace, served, c.Name), true
}

// pastGrace tells whether an object created at created has gone without an address
// for AddressGrace; without a clock, there is no grace.
func pastGrace(obs Observed, created time.Time) bool {
	return obs.Now.IsZero() || obs.Now.Sub(created) >= AddressGrace
}

// Recheck is how long after now the status must be computed again though nothing
// on the cluster changes, or 0 when it need not: a Pending claim leaves ClaimGrace,
// a container that cannot pull its image or be created reaches StallGrace, a
// LoadBalancer Service or an Ingress without an address leaves AddressGrace.
func Recheck(obs Observed) time.Duration {
	next := ClaimRecheck(obs)
	if d := StallRecheck(obs); d > 0 && (next == 0 || d < next) {
		next = d
	}
	if obs.Now.IsZero() {
		return next
	}
	earliest := func(created time.Time) {
		if left := created.Add(AddressGrace).Sub(obs.Now); left > 0 && (next == 0 || left < next) {
			next = left
		}
	}
	if svc := obs.Service; svc != nil && svc.Spec.Type == corev1.ServiceTypeLoadBalancer && len(svc.Status.LoadBalancer.Ingress) == 0 {
		earliest(svc.CreationTimestamp.Time)
	}
	if ing := obs.Ingress; ing != nil && len(ing.Status.LoadBalancer.Ingress) == 0 {
		earliest(ing.CreationTimestamp.Time)
	}
	return next
}
