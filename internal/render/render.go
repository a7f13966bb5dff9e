// Package render turns an AppStack into the native objects that run it. Every
// function here is pure: no client, no clock, no randomness; the same stack renders
// to byte-identical objects. The controller applies what Render returns, and the
// kubectl plugin prints it.
package render

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Desired is everything a stack should have on the cluster, grouped the way the
// controller applies it: the namespace first, then what the stack shares (configs,
// volumes), then each component's objects. A component's workload is kept apart
// from its other objects because it alone waits for the component's dependencies.
type Desired struct {
	Namespace  client.Object
	Shared     []client.Object
	Components []ComponentObjects
}

// ComponentObjects are the objects of one component.
type ComponentObjects struct {
	Name string
	// Workload is the Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod.
	Workload client.Object
	// Supporting are its Services, Ingress, HorizontalPodAutoscaler and
	// PodDisruptionBudget, applied without waiting for dependencies.
	Supporting []client.Object
}

// Objects lists every desired object in apply order.
func (d *Desired) Objects() []client.Object {
	objs := append([]client.Object{d.Namespace}, d.Shared...)
	for _, c := range d.Components {
		objs = append(objs, c.Workload)
		objs = append(objs, c.Supporting...)
	}
	return objs
}

// Render returns the desired children of a stack. It returns a field error (see
// Validate) instead of objects when the spec cannot be rendered.
func Render(stack *appstackv1.AppStack) (*Desired, error) {
	if err := Validate(stack).ToAggregate(); err != nil {
		return nil, err
	}
	d := &Desired{Namespace: Namespace(stack)}
	for i := range stack.Spec.Configs {
		d.Shared = append(d.Shared, ConfigMap(stack, &stack.Spec.Configs[i]))
	}
	for i := range stack.Spec.Volumes {
		d.Shared = append(d.Shared, PersistentVolumeClaim(stack, &stack.Spec.Volumes[i]))
	}
	for i := range stack.Spec.Components {
		c := &stack.Spec.Components[i]
		co := ComponentObjects{Name: c.Name, Workload: Workload(stack, c)}
		for _, svc := range Services(stack, c) {
			co.Supporting = append(co.Supporting, svc)
		}
		if ing := Ingress(stack, c); ing != nil {
			co.Supporting = append(co.Supporting, ing)
		}
		if hpa := HorizontalPodAutoscaler(stack, c); hpa != nil {
			co.Supporting = append(co.Supporting, hpa)
		}
		if pdb := PodDisruptionBudget(stack, c); pdb != nil {
			co.Supporting = append(co.Supporting, pdb)
		}
		d.Components = append(d.Components, co)
	}
	return d, nil
}

// Workload renders the component's workload object of its kind.
func Workload(stack *appstackv1.AppStack, c *appstackv1.Component) client.Object {
	switch KindOf(c) {
	case appstackv1.KindStatefulSet:
		return StatefulSet(stack, c)
	case appstackv1.KindDaemonSet:
		return DaemonSet(stack, c)
	case appstackv1.KindJob:
		return Job(stack, c)
	case appstackv1.KindCronJob:
		return CronJob(stack, c)
	case appstackv1.KindPod:
		return Pod(stack, c)
	default:
		return Deployment(stack, c)
	}
}

// KindOf is the component's kind with the default applied.
func KindOf(c *appstackv1.Component) appstackv1.ComponentKind {
	if c.Kind == "" {
		return appstackv1.KindDeployment
	}
	return c.Kind
}

// Component finds a component of the stack by name.
func Component(stack *appstackv1.AppStack, name string) *appstackv1.Component {
	for i := range stack.Spec.Components {
		if stack.Spec.Components[i].Name == name {
			return &stack.Spec.Components[i]
		}
	}
	return nil
}

// ChildKinds are the namespaced kinds a stack's children can be (the stack's
// ControllerRevisions aside: history, not children).
func ChildKinds() []client.Object {
	return []client.Object{
		&appsv1.Deployment{}, &appsv1.StatefulSet{}, &appsv1.DaemonSet{},
		&batchv1.Job{}, &batchv1.CronJob{}, &corev1.Pod{},
		&corev1.Service{}, &corev1.ConfigMap{}, &corev1.PersistentVolumeClaim{},
		&networkingv1.Ingress{}, &autoscalingv2.HorizontalPodAutoscaler{}, &policyv1.PodDisruptionBudget{},
	}
}
