package render

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Deployment renders a component of kind Deployment.
func Deployment(stack *appstackv1.AppStack, c *appstackv1.Component) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: componentMeta(stack, c.Name),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(ptr.Deref(c.Replicas, 1)),
			Selector: &metav1.LabelSelector{MatchLabels: SelectorLabels(stack, c.Name)},
			Template: podTemplate(stack, c),
		},
	}
}

// podTemplate is the pod of a component: its containers (sidecars included) and
// volumes, labelled so the component's selector and Service find it.
func podTemplate(stack *appstackv1.AppStack, c *appstackv1.Component) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: ComponentLabels(stack, c.Name)},
		Spec: corev1.PodSpec{
			Containers: c.Containers,
			Volumes:    podVolumes(c),
		},
	}
}

func podVolumes(c *appstackv1.Component) []corev1.Volume {
	if len(c.Volumes) == 0 {
		return nil
	}
	out := make([]corev1.Volume, 0, len(c.Volumes))
	for _, v := range c.Volumes {
		vol := corev1.Volume{Name: v.Name}
		switch {
		case v.EmptyDir != nil:
			vol.EmptyDir = v.EmptyDir.DeepCopy()
		}
		out = append(out, vol)
	}
	return out
}

func componentMeta(stack *appstackv1.AppStack, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      component,
		Namespace: NamespaceName(stack),
		Labels:    ComponentLabels(stack, component),
	}
}
