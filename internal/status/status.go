// Package status turns what is observed on the cluster into the status of a stack.
// It is pure — objects in, status out — so the controller and the kubectl plugin
// report the same thing.
package status

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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
	// Service is the component's Service, nil when it has none.
	Service *corev1.Service
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

// Component computes the status of one component from what was observed.
func Component(stack *appstackv1.AppStack, c *appstackv1.Component, obs Observed) appstackv1.ComponentStatus {
	kind := c.Kind
	if kind == "" {
		kind = appstackv1.KindDeployment
	}
	cs := appstackv1.ComponentStatus{Name: c.Name, Kind: kind, Replicas: ptr.Deref(c.Replicas, 1)}
	if obs.Service != nil {
		cs.Service = serviceStatus(render.NamespaceName(stack), obs.Service)
	}
	if obs.Workload == nil {
		cs.Phase = appstackv1.PhaseProgressing
		cs.Message = fmt.Sprintf("%s %s not created yet", kind, c.Name)
		return cs
	}
	if d, ok := obs.Workload.(*appsv1.Deployment); ok {
		cs.Replicas = ptr.Deref(d.Spec.Replicas, 1)
		cs.ReadyReplicas = d.Status.ReadyReplicas
	}
	st, msg, err := Readiness(obs.Workload, appsv1.SchemeGroupVersion.WithKind(string(kind)))
	switch {
	case err != nil:
		cs.Phase, cs.Message = appstackv1.PhaseProgressing, err.Error()
	case st == kstatus.CurrentStatus:
		cs.Phase = appstackv1.PhaseReady
	case st == kstatus.FailedStatus:
		cs.Phase, cs.Message = appstackv1.PhaseFailed, msg
	default:
		cs.Phase, cs.Message = appstackv1.PhaseProgressing, msg
	}
	return cs
}

func serviceStatus(namespace string, svc *corev1.Service) *appstackv1.ServiceStatus {
	ss := &appstackv1.ServiceStatus{ClusterIP: svc.Spec.ClusterIP}
	for _, p := range svc.Spec.Ports {
		ss.Ports = append(ss.Ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
	}
	if len(svc.Spec.Ports) > 0 {
		ss.URL = fmt.Sprintf("%s:%d", render.ServiceDNSName(namespace, svc.Name), svc.Spec.Ports[0].Port)
	}
	return ss
}

// Summary is the stack-wide verdict drawn from its components: how many are ready,
// and, when not all are, the first component that is not with its reason.
type Summary struct {
	Ready, Total int
	// Reason and Message are those of the Ready condition.
	Reason, Message string
}

// Summarize draws the stack's verdict from its components, in spec order.
func Summarize(components []appstackv1.ComponentStatus) Summary {
	s := Summary{Total: len(components), Reason: appstackv1.ReasonReady}
	for _, c := range components {
		if c.Phase == appstackv1.PhaseReady {
			s.Ready++
			continue
		}
		if s.Reason == appstackv1.ReasonReady {
			s.Reason = string(c.Phase)
			s.Message = fmt.Sprintf("%s: %s", c.Name, c.Message)
		}
	}
	if s.Reason == appstackv1.ReasonReady {
		s.Message = fmt.Sprintf("%d/%d components ready", s.Ready, s.Total)
	}
	return s
}
