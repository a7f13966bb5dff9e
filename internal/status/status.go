// Package status turns what is observed on the cluster into the status of a stack.
// It is pure — objects in, status out — so the controller and the kubectl plugin
// report the same thing.
package status

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// Observed is what the cluster holds for one component.
type Observed struct {
	// Workload is the component's workload, nil when it does not exist (yet).
	Workload client.Object
	// Service is the component's own Service, nil when it has none.
	Service *corev1.Service
	// WaitingFor names the dependencies that are not Ready yet; the workload is not
	// created until they are.
	WaitingFor []string
	// Pods are the component's pods, read for failure attribution.
	Pods []corev1.Pod
	// Claims are the PersistentVolumeClaims the component's pods mount.
	Claims []corev1.PersistentVolumeClaim
	// Now is when the observation was made: a claim Pending for less than
	// ClaimGrace is on its way, not in trouble.
	Now time.Time
	// StorageClassExists tells whether a storage class exists; nil when unknown.
	StorageClassExists func(name string) bool
	// Events are the Warning events that say what the objects do not, read only for
	// a component that is not Ready and that nothing else explains: a StatefulSet's
	// or DaemonSet's FailedCreate, the kubelet's FailedMount and Unhealthy (a
	// readiness probe that fails) for its pods.
	Events []corev1.Event
	// Nodes are the nodes the component's pods are on, read for a component that is
	// not Ready.
	Nodes []corev1.Node
	// Autoscaler is the component's HorizontalPodAutoscaler, nil when it has none.
	Autoscaler *autoscalingv2.HorizontalPodAutoscaler
	// MetricsAPI is what the APIService of the resource metrics API says when the
	// autoscaler cannot fetch metrics ("APIService v1beta1.metrics.k8s.io does not
	// exist"); "" when it was not read.
	MetricsAPI string
	// Ingress is the component's Ingress, nil when it has none.
	Ingress *networkingv1.Ingress
	// IngressClassExists tells whether an IngressClass exists; nil when unknown.
	IngressClassExists func(name string) bool
}

// ClaimGrace is how long a claim may stay Pending before it counts as trouble:
// binding takes seconds to minutes (some cloud disks take over a minute to
// provision, and a busy persistent-volume controller binds a few claims a
// second), and a WaitForFirstConsumer claim is Pending until its pod has been
// scheduled. A claim whose storage class does not exist is trouble at once.
const ClaimGrace = 3 * time.Minute

// ClaimRecheck is how long after now a claim in obs leaves its grace while still
// Pending, or 0 when none will: the status must be computed again then.
func ClaimRecheck(obs Observed) time.Duration {
	var next time.Duration
	if obs.Now.IsZero() {
		return 0
	}
	for i := range obs.Claims {
		pvc := &obs.Claims[i]
		if pvc.Status.Phase == corev1.ClaimBound {
			continue
		}
		if left := pvc.CreationTimestamp.Add(ClaimGrace).Sub(obs.Now); left > 0 && (next == 0 || left < next) {
			next = left
		}
	}
	return next
}

// Readiness reports whether a native object is ready by the rules kstatus shares
// with `kubectl rollout status`, with kstatus's one-line message.
func Readiness(obj client.Object, gvk schema.GroupVersionKind) (kstatus.Status, string, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return kstatus.UnknownStatus, "", fmt.Errorf("convert %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	u := &unstructured.Unstructured{Object: m}
	// Objects read from a typed cache have no TypeMeta; kstatus picks its rules by kind.
	u.SetGroupVersionKind(gvk)
	res, err := kstatus.Compute(u)
	if err != nil {
		return kstatus.UnknownStatus, "", fmt.Errorf("compute status of %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	return res.Status, res.Message, nil
}

// WorkloadGVK is the group, version and kind of a component kind's workload.
func WorkloadGVK(kind appstackv1.ComponentKind) schema.GroupVersionKind {
	switch kind {
	case appstackv1.KindJob, appstackv1.KindCronJob:
		return batchv1.SchemeGroupVersion.WithKind(string(kind))
	case appstackv1.KindPod:
		return corev1.SchemeGroupVersion.WithKind(string(kind))
	default:
		return appsv1.SchemeGroupVersion.WithKind(string(kind))
	}
}

// Component computes the status of one component from what was observed.
func Component(stack *appstackv1.AppStack, c *appstackv1.Component, obs Observed) appstackv1.ComponentStatus {
	kind := render.KindOf(c)
	cs := appstackv1.ComponentStatus{Name: c.Name, Kind: kind}
	if obs.Service != nil {
		cs.Service = serviceStatus(render.NamespaceName(stack), obs.Service)
	}
	if stack.Spec.Paused {
		cs.Phase, cs.Message = appstackv1.PhaseSuspended, "the stack is paused"
	}
	if obs.Workload == nil {
		cs.Replicas = ptr.Deref(c.Replicas, 1)
		switch {
		case cs.Phase != "":
		case len(obs.WaitingFor) > 0:
			cs.Phase, cs.Reason, cs.Message = appstackv1.PhaseWaiting, ReasonWaiting, waitingMessage(obs.WaitingFor)
		default:
			cs.Phase, cs.Reason, cs.Message = appstackv1.PhaseProgressing, ReasonProgressing, fmt.Sprintf("%s %s not created yet", kind, c.Name)
		}
		return cs
	}
	cs.Replicas, cs.ReadyReplicas = replicaCounts(obs.Workload)
	if cs.Phase != "" {
		return cs
	}
	st, msg, err := Readiness(obs.Workload, WorkloadGVK(kind))
	if p, ok := obs.Workload.(*corev1.Pod); ok && p.Status.Phase == corev1.PodFailed {
		// kstatus counts a pod that has completed, even unsuccessfully, as Current;
		// a component's bare Pod that failed (or was evicted) does not serve.
		st, msg = kstatus.FailedStatus, "Pod has completed, but not successfully"
	}
	switch {
	case err != nil:
		cs.Phase, cs.Reason, cs.Message = appstackv1.PhaseProgressing, ReasonProgressing, err.Error()
	case st == kstatus.CurrentStatus:
		cs.Phase = appstackv1.PhaseReady
		// A Ready component's pods serve; what else of it does not work is said, and
		// the component stays Ready (README: Status that explains).
		cs.Reason, cs.Message, _ = warning(stack, c, obs)
	default:
		cs.Phase, cs.Reason, cs.Message = appstackv1.PhaseProgressing, ReasonProgressing, msg
		if st == kstatus.FailedStatus {
			cs.Phase, cs.Reason = appstackv1.PhaseFailed, string(appstackv1.PhaseFailed)
		}
		if reason, message, failed, ok := cause(stack, c, obs); ok {
			cs.Reason, cs.Message = reason, message
			if failed && specObserved(obs.Workload) {
				cs.Phase = appstackv1.PhaseFailed
			}
		}
	}
	return cs
}

// specObserved tells a workload whose controller has seen its current spec. Until
// then its conditions (ReplicaFailure, a progress deadline) describe the template
// before, and the failure they show may be the one the new spec fixes: a stack
// whose fix was just applied is not Failed for a moment (Helm 4's --wait and Flux
// would report the fix as failed; docs/gitops.md).
func specObserved(w client.Object) bool {
	switch w := w.(type) {
	case *appsv1.Deployment:
		return w.Status.ObservedGeneration >= w.Generation
	case *appsv1.StatefulSet:
		return w.Status.ObservedGeneration >= w.Generation
	case *appsv1.DaemonSet:
		return w.Status.ObservedGeneration >= w.Generation
	}
	return true
}

func waitingMessage(deps []string) string {
	msg := "waiting for " + deps[0]
	for _, d := range deps[1:] {
		msg += ", " + d
	}
	return msg
}

// replicaCounts is how many pods a workload wants and how many are ready.
func replicaCounts(obj client.Object) (want, ready int32) {
	switch w := obj.(type) {
	case *appsv1.Deployment:
		return ptr.Deref(w.Spec.Replicas, 1), w.Status.ReadyReplicas
	case *appsv1.StatefulSet:
		return ptr.Deref(w.Spec.Replicas, 1), w.Status.ReadyReplicas
	case *appsv1.DaemonSet:
		return w.Status.DesiredNumberScheduled, w.Status.NumberReady
	case *batchv1.Job:
		return ptr.Deref(w.Spec.Completions, 1), w.Status.Succeeded
	case *batchv1.CronJob:
		// A CronJob has no steady pods; counting its running Jobs would rewrite the
		// stack's status every time the schedule fires.
		return 0, 0
	case *corev1.Pod:
		if PodReady(w) {
			return 1, 1
		}
		return 1, 0
	}
	return 0, 0
}

// Volume computes the status of a stack volume from its claim (nil when absent).
func Volume(v *appstackv1.StackVolume, pvc *corev1.PersistentVolumeClaim) appstackv1.VolumeStatus {
	vs := appstackv1.VolumeStatus{Name: v.Name, Phase: corev1.ClaimPending}
	if pvc == nil {
		return vs
	}
	if pvc.Status.Phase != "" {
		vs.Phase = pvc.Status.Phase
	}
	if q, ok := pvc.Status.Capacity[corev1.ResourceStorage]; ok {
		vs.Capacity = q.String()
	}
	return vs
}

func serviceStatus(namespace string, svc *corev1.Service) *appstackv1.ServiceStatus {
	ss := &appstackv1.ServiceStatus{ClusterIP: svc.Spec.ClusterIP}
	for _, p := range svc.Spec.Ports {
		ss.Ports = append(ss.Ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
	}
	ss.URL = ServiceURL(namespace, svc)
	return ss
}

// ServiceURL is a Service's in-cluster address, its DNS name and first port
// ("web.shop.svc.cluster.local:80"); empty for a Service without ports.
func ServiceURL(namespace string, svc *corev1.Service) string {
	if len(svc.Spec.Ports) == 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d", render.ServiceDNSName(namespace, svc.Name), svc.Spec.Ports[0].Port)
}

// Summary is the stack-wide verdict drawn from its components: how many are ready,
// and, when not all are, the first component that is not with its reason; when all
// are, the first that is Ready with a warning (an autoscaler without metrics, a
// load balancer without an address), or Ready.
type Summary struct {
	Ready, Total int
	// Reason and Message are those of the Ready condition.
	Reason, Message string
}

// Summarize draws the stack's verdict from its components, in spec order.
func Summarize(components []appstackv1.ComponentStatus) Summary {
	s := Summary{Total: len(components), Reason: appstackv1.ReasonReady}
	var warned *appstackv1.ComponentStatus
	for i, c := range components {
		if c.Phase == appstackv1.PhaseReady {
			s.Ready++
			if warned == nil && c.Reason != "" {
				warned = &components[i]
			}
			continue
		}
		if s.Reason == appstackv1.ReasonReady {
			s.Reason = c.Reason
			if s.Reason == "" {
				s.Reason = string(c.Phase)
			}
			s.Message = fmt.Sprintf("%s: %s", c.Name, c.Message)
		}
	}
	if s.Reason == appstackv1.ReasonReady {
		s.Message = fmt.Sprintf("%d/%d components ready", s.Ready, s.Total)
		if warned != nil {
			s.Reason = warned.Reason
			s.Message += fmt.Sprintf("; %s: %s", warned.Name, warned.Message)
		}
	}
	return s
}
