package controllers

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// checkUnsafeChanges refuses, before anything is applied, a change that could only
// be made by losing data: shrinking a claim or changing its class or access modes,
// or changing a StatefulSet's claim templates (DESIGN §3.3, §3.5). The pass stops
// with Ready=False, reason UnsafeChange, naming the field; nothing is changed.
func (r *AppStackReconciler) checkUnsafeChanges(ctx context.Context, s *scope) error {
	var problems field.ErrorList
	for i := range s.stack.Spec.Volumes {
		v := &s.stack.Spec.Volumes[i]
		live := &corev1.PersistentVolumeClaim{}
		if !r.getOwned(ctx, s, client.ObjectKey{Namespace: s.namespace, Name: v.Name}, live) {
			continue
		}
		p := field.NewPath("spec", "volumes").Index(i)
		problems = append(problems, claimChange(p, v.Name, render.PersistentVolumeClaim(s.stack, v).Spec, live.Spec)...)
	}
	for i := range s.stack.Spec.Components {
		c := &s.stack.Spec.Components[i]
		if render.KindOf(c) != appstackv1.KindStatefulSet {
			continue
		}
		live := &appsv1.StatefulSet{}
		if !r.getOwned(ctx, s, client.ObjectKey{Namespace: s.namespace, Name: c.Name}, live) {
			continue
		}
		want := render.StatefulSet(s.stack, c).Spec.VolumeClaimTemplates
		if !sameClaimTemplates(want, live.Spec.VolumeClaimTemplates) {
			problems = append(problems, field.Forbidden(field.NewPath("spec", "components").Index(i).Child("volumeClaimTemplates"),
				fmt.Sprintf("StatefulSet %s keeps its claim templates for life; changing them means deleting it and its replicas' claims. "+
					"Restore the previous templates, or add a new component and move the data", c.Name)))
		}
	}
	if len(problems) > 0 {
		s.blocked = &blocker{reason: appstackv1.ReasonUnsafeChange, message: problems.ToAggregate().Error()}
	}
	return nil
}

func claimChange(p *field.Path, name string, want, have corev1.PersistentVolumeClaimSpec) field.ErrorList {
	var errs field.ErrorList
	wantSize, haveSize := want.Resources.Requests[corev1.ResourceStorage], have.Resources.Requests[corev1.ResourceStorage]
	if wantSize.Cmp(haveSize) < 0 {
		errs = append(errs, field.Forbidden(p.Child("size"),
			fmt.Sprintf("claim %s cannot shrink from %s to %s; a claim only grows. Set size to %s or more",
				name, haveSize.String(), wantSize.String(), haveSize.String())))
	}
	if want.StorageClassName != nil && ptr.Deref(have.StorageClassName, "") != *want.StorageClassName {
		errs = append(errs, field.Forbidden(p.Child("storageClassName"),
			fmt.Sprintf("claim %s is of class %q and cannot change class; create a new volume and move the data",
				name, ptr.Deref(have.StorageClassName, ""))))
	}
	if !sameModes(want.AccessModes, have.AccessModes) {
		errs = append(errs, field.Forbidden(p.Child("accessModes"),
			fmt.Sprintf("claim %s has access modes %v, which cannot change; create a new volume and move the data", name, have.AccessModes)))
	}
	return errs
}

func sameModes(a, b []corev1.PersistentVolumeAccessMode) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// sameClaimTemplates compares what the operator sets in claim templates; the
// apiserver fills in more (volumeMode, status), which does not count.
func sameClaimTemplates(want, have []corev1.PersistentVolumeClaim) bool {
	if len(want) != len(have) {
		return false
	}
	for i := range want {
		w, h := want[i], have[i]
		if w.Name != h.Name || !sameModes(w.Spec.AccessModes, h.Spec.AccessModes) ||
			!equality.Semantic.DeepEqual(w.Spec.Resources.Requests, h.Spec.Resources.Requests) ||
			(w.Spec.StorageClassName != nil && ptr.Deref(h.Spec.StorageClassName, "") != *w.Spec.StorageClassName) {
			return false
		}
	}
	return true
}
