package render

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// LabelRetained marks a PersistentVolumeClaim that outlived the volume entry, the
// component or the stack that declared it, because it is retained.
const LabelRetained = "apps.appstack.dev/retained"

// LabelRetainedValue is LabelRetained's value on a retained object.
const LabelRetainedValue = "true"

// PersistentVolumeClaim renders a stack volume. Whether the claim is owned by the
// stack (and so deleted with it) is the controller's decision, from Retains.
func PersistentVolumeClaim(stack *appstackv1.AppStack, v *appstackv1.StackVolume) *corev1.PersistentVolumeClaim {
	labels := StackLabels(stack)
	labels[LabelVolume] = v.Name
	return &corev1.PersistentVolumeClaim{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      v.Name,
			Namespace: NamespaceName(stack),
			Labels:    labels,
		},
		Spec: claimSpec(v.Size, v.AccessModes, v.StorageClassName),
	}
}

// Retains tells whether a stack volume outlives the stack (the default).
func Retains(v *appstackv1.StackVolume) bool { return ptr.Deref(v.Retain, true) }

func claimSpec(size resource.Quantity, modes []corev1.PersistentVolumeAccessMode, class *string) corev1.PersistentVolumeClaimSpec {
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	return corev1.PersistentVolumeClaimSpec{
		AccessModes:      slices.Clone(modes),
		StorageClassName: class,
		Resources: corev1.VolumeResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceStorage: size},
		},
	}
}

// volumeClaimTemplates renders a StatefulSet's per-replica claims.
func volumeClaimTemplates(stack *appstackv1.AppStack, c *appstackv1.Component) []corev1.PersistentVolumeClaim {
	if len(c.VolumeClaimTemplates) == 0 {
		return nil
	}
	out := make([]corev1.PersistentVolumeClaim, 0, len(c.VolumeClaimTemplates))
	for _, t := range c.VolumeClaimTemplates {
		out = append(out, corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: t.Name, Labels: ComponentLabels(stack, c.Name)},
			Spec:       claimSpec(t.Size, t.AccessModes, t.StorageClassName),
		})
	}
	return out
}
