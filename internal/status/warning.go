package status

import (
	"fmt"
	"regexp"
	"slices"
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

// AutoscalerGrace is how long a HorizontalPodAutoscaler may say that it cannot
// compute a replica count (ScalingActive False) before the stack says so, counted
// from the condition's own lastTransitionTime (so a restart of the operator does not
// start it again). Every rollout or scale-up brings pods that have no metrics yet:
// metrics-server scrapes each kubelet every 60 s by default and needs two scrapes of
// a pod for a CPU rate, and the autoscaler also ignores a sample taken within one
// window of the pod turning ready — its "did not receive metrics for targeted pods
// (pods might be unready)" lasts one to two and a half minutes. Three minutes, like
// ClaimGrace, leaves that room and still names an autoscaler that will never scale
// soon after it is created.
const AutoscalerGrace = 3 * time.Minute

// warning finds what does not work of a component that is Ready, in this order: an
// autoscaler that cannot fetch metrics (no metrics API, at once), an autoscaler
// that cannot compute a replica count past AutoscalerGrace, a LoadBalancer Service
// without an address after AddressGrace, an Ingress whose class does not exist (at
// once) or that has no address after AddressGrace.
func warning(stack *appstackv1.AppStack, c *appstackv1.Component, obs Observed) (string, string, bool) {
	if r, m, ok := metricsUnavailable(c, obs); ok {
		return r, m, true
	}
	if r, m, ok := autoscalerInactive(stack, c, obs); ok {
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

// noMetricsAPI tells an autoscaler's condition that says a metrics API did not
// answer at all.
func noMetricsAPI(cond *autoscalingv2.HorizontalPodAutoscalerCondition) bool {
	return strings.HasPrefix(cond.Reason, "FailedGet") && metricsFetch.MatchString(cond.Message)
}

func metricsUnavailable(c *appstackv1.Component, obs Observed) (string, string, bool) {
	hpa := obs.Autoscaler
	if hpa == nil {
		return "", "", false
	}
	for _, cond := range hpa.Status.Conditions {
		if cond.Type != autoscalingv2.ScalingActive || cond.Status != corev1.ConditionFalse || !noMetricsAPI(&cond) {
			continue
		}
		m := metricsFetch.FindStringSubmatch(cond.Message)
		if m[1] != "resource" {
			return ReasonMetricsUnavailable, fmt.Sprintf("HorizontalPodAutoscaler %s cannot read metrics: no %s metrics API answers "+
				"(%s); install the adapter that serves it — until then the replicas stay where they are%s",
				hpa.Name, m[1], cond.Reason, staysAt(c)), true
		}
		api := "the resource metrics API"
		if obs.MetricsAPI != "" {
			api += ", " + obs.MetricsAPI
		}
		return ReasonMetricsUnavailable, fmt.Sprintf("HorizontalPodAutoscaler %s cannot read CPU or memory: no metrics API answers (%s); "+
			"install metrics-server — until then the replicas stay where they are%s", hpa.Name, api, staysAt(c)), true
	}
	return "", "", false
}

// staysAt says where the replicas of an autoscaled component stay while its
// autoscaler cannot scale.
func staysAt(c *appstackv1.Component) string {
	if c.Autoscaling == nil {
		return ""
	}
	return fmt.Sprintf(" (autoscaling.minReplicas %d or what it last set)", ptr.Deref(c.Autoscaling.MinReplicas, 1))
}

// inactive is the autoscaler's ScalingActive condition when it says that the
// autoscaler cannot compute a replica count, for a reason other than a metrics API
// that does not answer (metricsUnavailable) and other than a target scaled to zero
// on purpose (ScalingDisabled); nil otherwise.
func inactive(obs Observed) *autoscalingv2.HorizontalPodAutoscalerCondition {
	if obs.Autoscaler == nil {
		return nil
	}
	for i := range obs.Autoscaler.Status.Conditions {
		cond := &obs.Autoscaler.Status.Conditions[i]
		if cond.Type != autoscalingv2.ScalingActive || cond.Status != corev1.ConditionFalse ||
			cond.Reason == "" || cond.Reason == "ScalingDisabled" || noMetricsAPI(cond) {
			continue
		}
		return cond
	}
	return nil
}

// autoscalerInactive names an autoscaler that has not computed a replica count for
// AutoscalerGrace — no metrics for its pods (nodes metrics-server cannot scrape, as
// kwok's simulated ones), pods without the requests its target is a percentage of,
// a selector it cannot use — with the autoscaler's own reason and its message, less
// what changes from one attempt to the next (autoscalerMessage).
func autoscalerInactive(stack *appstackv1.AppStack, c *appstackv1.Component, obs Observed) (string, string, bool) {
	cond := inactive(obs)
	if cond == nil || !pastGrace(obs, cond.LastTransitionTime.Time, AutoscalerGrace) {
		return "", "", false
	}
	hpa, ns := obs.Autoscaler.Name, render.NamespaceName(stack)
	msg := autoscalerMessage(cond.Message)
	if advice := autoscalerAdvice(stack, c, msg); advice != "" {
		msg += "; " + advice
	}
	return cond.Reason, fmt.Sprintf("HorizontalPodAutoscaler %s has not computed a replica count for over %s: %s — until then "+
		"the replicas stay where they are%s; kubectl describe hpa %s -n %s shows its events",
		hpa, AutoscalerGrace, msg, staysAt(c), hpa, ns), true
}

// The autoscaler's words, from the Kubernetes HPA controller: the preamble of every
// ScalingActive failure, a pod's generated name (new with every pod), an address
// (new with every Service or pod), and the list of autoscalers that select the
// same pods (in no fixed order).
var (
	hpaPreamble    = regexp.MustCompile(`^the HPA was unable to compute the replica count: `)
	hpaPodName     = regexp.MustCompile(`\b(?:(of|in) Pod [a-z0-9]([-a-z0-9.]*[a-z0-9])?\b|pods? "[^"]*")`)
	hpaAddress     = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b|\[[0-9a-fA-F:]+\](:\d+)?`)
	hpaAmbiguous   = regexp.MustCompile(`controlled by multiple HPAs: \[([^\]]*)\]`)
	missingRequest = regexp.MustCompile(`missing (?:pod-level )?request for (\S+)(?: in container (\S+))?`)
	noPodMetrics   = regexp.MustCompile(`no metrics returned from resource metrics API|did not receive metrics for targeted pods|no metrics returned matched known pods`)
)

// autoscalerMessage is the autoscaler's message as the stack may carry it: without
// its preamble, and without what changes while its cause does not (a pod's name,
// an address, the order of a list), so that the stack's status is not rewritten
// every time the autoscaler retries.
func autoscalerMessage(msg string) string {
	msg = hpaPreamble.ReplaceAllString(msg, "")
	msg = hpaPodName.ReplaceAllStringFunc(msg, func(m string) string {
		if of, _, ok := strings.Cut(m, " Pod "); ok {
			return of + " a pod"
		}
		return "a pod"
	})
	msg = hpaAddress.ReplaceAllString(msg, "<address>")
	return hpaAmbiguous.ReplaceAllStringFunc(msg, func(m string) string {
		list := strings.Fields(hpaAmbiguous.FindStringSubmatch(m)[1])
		slices.Sort(list)
		return "controlled by multiple HPAs: [" + strings.Join(list, " ") + "]"
	})
}

// autoscalerAdvice says what to do about an autoscaler's failure, from its message;
// "" when the message itself is all there is to say.
func autoscalerAdvice(stack *appstackv1.AppStack, c *appstackv1.Component, msg string) string {
	if m := missingRequest.FindStringSubmatch(msg); m != nil {
		field := fmt.Sprintf("spec.components[%s].containers[*]", c.Name)
		if m[2] != "" {
			field = containerField(c, m[2])
		}
		return fmt.Sprintf("its target is a percentage of the pods' requests: set %s.resources.requests.%s", field, m[1])
	}
	if noPodMetrics.MatchString(msg) {
		return fmt.Sprintf("metrics-server has no metrics for the component's pods: it cannot scrape the kubelets of their nodes "+
			"(simulated nodes, such as kwok's, have none; kubectl top pods -n %s -l %s=%s shows what it has)",
			render.NamespaceName(stack), render.LabelComponent, c.Name)
	}
	return ""
}

func loadBalancerPending(stack *appstackv1.AppStack, c *appstackv1.Component, obs Observed) (string, string, bool) {
	svc := obs.Service
	if svc == nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Status.LoadBalancer.Ingress) > 0 || !pastGrace(obs, svc.CreationTimestamp.Time, AddressGrace) {
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
	if !pastGrace(obs, ing.CreationTimestamp.Time, AddressGrace) {
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

// pastGrace tells whether grace has passed since since; without a clock, there is
// no grace.
func pastGrace(obs Observed, since time.Time, grace time.Duration) bool {
	return obs.Now.IsZero() || obs.Now.Sub(since) >= grace
}

// Recheck is how long after now the status must be computed again though nothing
// on the cluster changes, or 0 when it need not: a Pending claim leaves ClaimGrace,
// a container that cannot pull its image or be created reaches StallGrace, a
// LoadBalancer Service or an Ingress without an address leaves AddressGrace, an
// autoscaler that cannot compute a replica count leaves AutoscalerGrace.
func Recheck(obs Observed) time.Duration {
	next := ClaimRecheck(obs)
	if obs.Now.IsZero() {
		return next
	}
	earliest := func(since time.Time, grace time.Duration) {
		if left := since.Add(grace).Sub(obs.Now); left > 0 && (next == 0 || left < next) {
			next = left
		}
	}
	if svc := obs.Service; svc != nil && svc.Spec.Type == corev1.ServiceTypeLoadBalancer && len(svc.Status.LoadBalancer.Ingress) == 0 {
		earliest(svc.CreationTimestamp.Time, AddressGrace)
	}
	if ing := obs.Ingress; ing != nil && len(ing.Status.LoadBalancer.Ingress) == 0 {
		earliest(ing.CreationTimestamp.Time, AddressGrace)
	}
	if cond := inactive(obs); cond != nil {
		earliest(cond.LastTransitionTime.Time, AutoscalerGrace)
	}
	for i := range obs.Pods {
		// A container problem that reaches StallGrace makes the stack Stalled.
		if p := &obs.Pods[i]; waitsOn(p, stallsAfterGrace) {
			earliest(p.CreationTimestamp.Time, StallGrace)
		}
	}
	return next
}
