package dashboard

import (
	"fmt"
	"slices"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/inspect"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// objectOf is one of the stack's objects as the page shows it: its kstatus
// health, and what a person looks for in its kind.
func objectOf(st *appstackv1.AppStack, o inspect.Object) Object {
	health, msg := inspect.Health(o.Object, o.GVK)
	out := Object{Kind: o.GVK.Kind, Name: o.GetName(), Namespace: o.GetNamespace(), UID: string(o.GetUID()),
		Health: health, Message: msg}
	switch obj := o.Object.(type) {
	case *corev1.Service:
		out.Service = serviceInfo(obj)
	case *corev1.PersistentVolumeClaim:
		out.Claim = &ClaimInfo{Phase: string(obj.Status.Phase), StorageClass: ptr.Deref(obj.Spec.StorageClassName, ""),
			Retained: plan.OutlivesStack(obj, st)}
		if c, ok := obj.Status.Capacity[corev1.ResourceStorage]; ok {
			out.Claim.Capacity = c.String()
		}
	case *networkingv1.Ingress:
		out.Ingress = ingressInfo(obj)
	case *autoscalingv2.HorizontalPodAutoscaler:
		out.Autoscaler = autoscalerInfo(obj)
	}
	return out
}

// podObject is a pod as the page shows it: its phase (Terminating once
// deleted) and containers.
func podObject(p *corev1.Pod) Object {
	health := string(p.Status.Phase)
	if p.DeletionTimestamp != nil {
		health = "Terminating"
	}
	info := &PodInfo{Ready: int32(inspect.ReadyContainers(p)), Total: int32(len(p.Spec.Containers)), Node: p.Spec.NodeName}
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		info.Restarts += cs.RestartCount
		if info.Waiting == "" {
			info.Waiting = containerTrouble(cs)
		}
	}
	return Object{Kind: "Pod", Name: p.Name, Namespace: p.Namespace, UID: string(p.UID), Health: health,
		Message: inspect.PodMessage(p), Pod: info}
}

// containerTrouble is why a container waits (CrashLoopBackOff,
// ImagePullBackOff), or, when it is not ready, why it last ended (OOMKilled,
// Error); empty for a container at work or done.
func containerTrouble(cs corev1.ContainerStatus) string {
	switch {
	case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
		return cs.State.Waiting.Reason
	case cs.State.Terminated != nil && cs.State.Terminated.Reason != "Completed":
		return cs.State.Terminated.Reason
	case !cs.Ready && cs.LastTerminationState.Terminated != nil && cs.State.Terminated == nil:
		return cs.LastTerminationState.Terminated.Reason
	}
	return ""
}

func serviceInfo(svc *corev1.Service) *ServiceInfo {
	info := &ServiceInfo{Type: string(svc.Spec.Type), ClusterIP: svc.Spec.ClusterIP}
	if info.Type == "" {
		info.Type = string(corev1.ServiceTypeClusterIP)
	}
	for _, p := range svc.Spec.Ports {
		port := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if p.NodePort != 0 {
			port = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		}
		info.Ports = append(info.Ports, port)
	}
	info.URL = status.ServiceURL(svc.Namespace, svc)
	info.External = loadBalancerAddresses(svc.Status.LoadBalancer.Ingress)
	return info
}

func loadBalancerAddresses(ingress []corev1.LoadBalancerIngress) []string {
	var out []string
	for _, in := range ingress {
		if in.IP != "" {
			out = append(out, in.IP)
		}
		if in.Hostname != "" {
			out = append(out, in.Hostname)
		}
	}
	return out
}

func ingressInfo(ing *networkingv1.Ingress) *IngressInfo {
	info := &IngressInfo{}
	for _, rule := range ing.Spec.Rules {
		if rule.Host != "" && !slices.Contains(info.Hosts, rule.Host) {
			info.Hosts = append(info.Hosts, rule.Host)
		}
	}
	for _, in := range ing.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			info.Addresses = append(info.Addresses, in.IP)
		}
		if in.Hostname != "" {
			info.Addresses = append(info.Addresses, in.Hostname)
		}
	}
	return info
}

// autoscalerInfo: replicas, bounds, and each target as `kubectl get hpa` shows
// it, "cpu 45%/50%" (the current value <unknown> until metrics come).
func autoscalerInfo(hpa *autoscalingv2.HorizontalPodAutoscaler) *AutoscalerInfo {
	info := &AutoscalerInfo{Current: hpa.Status.CurrentReplicas, Desired: hpa.Status.DesiredReplicas,
		Min: ptr.Deref(hpa.Spec.MinReplicas, 1), Max: hpa.Spec.MaxReplicas}
	for i, m := range hpa.Spec.Metrics {
		name, target := metricTarget(m)
		current := "<unknown>"
		if i < len(hpa.Status.CurrentMetrics) {
			if v, ok := metricCurrent(hpa.Status.CurrentMetrics[i], m.Type); ok {
				current = formatValue(v.AverageUtilization, v.AverageValue, v.Value, target.Type)
			}
		}
		info.Targets = append(info.Targets, fmt.Sprintf("%s %s/%s", name, current,
			formatValue(target.AverageUtilization, target.AverageValue, target.Value, target.Type)))
	}
	return info
}

// metricTarget is a metric's name (a resource's, or the metric's) and target.
func metricTarget(m autoscalingv2.MetricSpec) (string, autoscalingv2.MetricTarget) {
	switch {
	case m.Resource != nil:
		return string(m.Resource.Name), m.Resource.Target
	case m.ContainerResource != nil:
		return m.ContainerResource.Container + "/" + string(m.ContainerResource.Name), m.ContainerResource.Target
	case m.Pods != nil:
		return m.Pods.Metric.Name, m.Pods.Target
	case m.Object != nil:
		return m.Object.Metric.Name, m.Object.Target
	case m.External != nil:
		return m.External.Metric.Name, m.External.Target
	}
	return string(m.Type), autoscalingv2.MetricTarget{}
}

// metricCurrent is a metric's current value, when the status has it for the
// spec's metric type.
func metricCurrent(m autoscalingv2.MetricStatus, t autoscalingv2.MetricSourceType) (autoscalingv2.MetricValueStatus, bool) {
	if m.Type != t {
		return autoscalingv2.MetricValueStatus{}, false
	}
	switch {
	case m.Resource != nil:
		return m.Resource.Current, true
	case m.ContainerResource != nil:
		return m.ContainerResource.Current, true
	case m.Pods != nil:
		return m.Pods.Current, true
	case m.Object != nil:
		return m.Object.Current, true
	case m.External != nil:
		return m.External.Current, true
	}
	return autoscalingv2.MetricValueStatus{}, false
}

// formatValue is a metric value of the target's type: a utilization in percent,
// else an average or total quantity.
func formatValue(util *int32, average, value *resource.Quantity, t autoscalingv2.MetricTargetType) string {
	switch {
	case t == autoscalingv2.UtilizationMetricType && util != nil:
		return fmt.Sprintf("%d%%", *util)
	case t == autoscalingv2.AverageValueMetricType && average != nil:
		return average.String()
	case t == autoscalingv2.ValueMetricType && value != nil:
		return value.String()
	}
	return "<unknown>"
}
