// Package inspect reads what a person looks at in one stack on the cluster: the
// objects the stack owns (as the operator decides it, plan.Owned) with their
// kstatus health, its pods, and its recorded revisions. `kubectl appstack status`
// and `history` read through the apiserver; the dashboard reads through its
// informers' caches (docs/dashboard.md). Both pass a client.Reader, so both show
// the same objects by the same rules.
package inspect

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// Object is one object the stack owns, typed, with its kind set.
type Object struct {
	client.Object
	GVK schema.GroupVersionKind
	// Component is the component the object belongs to (its
	// apps.appstack.dev/component label), empty for the stack's own objects (its
	// namespace, configs, volumes).
	Component string
}

// Owned lists the objects the stack owns, as the operator decides it
// (plan.Owned: listed in status.inventory with the same UID, or carrying the
// stack's mark): its namespace first, then every kind a child can be
// (render.ChildKinds) in that order. Labels only narrow the lists; an object
// labelled with the stack that it does not own is left out. Pods are left to Pods.
// A namespace that does not exist or may not be read is left out; any other
// failed read is an error.
func Owned(ctx context.Context, r client.Reader, stack *appstackv1.AppStack) ([]Object, error) {
	ns := render.NamespaceName(stack)
	var out []Object
	nsObj := &corev1.Namespace{}
	switch err := r.Get(ctx, client.ObjectKey{Name: ns}, nsObj); {
	case err == nil:
		gvk := corev1.SchemeGroupVersion.WithKind(plan.KindNamespace)
		nsObj.SetGroupVersionKind(gvk) // plan.Owned tells a namespace by its kind
		if plan.Owned(stack.Status.Inventory, nsObj, stack) {
			out = append(out, Object{Object: nsObj, GVK: gvk})
		}
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
		// Not created yet, or not readable by a user whose rights end at the
		// namespace's contents: what the user may read is shown.
	default:
		return nil, fmt.Errorf("get namespace %s: %w", ns, err)
	}
	for _, kind := range render.ChildKinds() {
		if _, isPod := kind.(*corev1.Pod); isPod {
			continue
		}
		items, gvk, err := list(ctx, r, kind, client.InNamespace(ns), client.MatchingLabels{render.LabelStack: stack.Name})
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			if plan.Owned(stack.Status.Inventory, item, stack) {
				out = append(out, Object{Object: item, GVK: gvk, Component: item.GetLabels()[render.LabelComponent]})
			}
		}
	}
	return out, nil
}

// Contents are what `kubectl appstack status` shows under a stack: the objects
// it owns (Owned) and its components' pods (Pods).
type Contents struct {
	Objects []Object
	Pods    map[string][]corev1.Pod
}

// Read reads the stack's contents.
func Read(ctx context.Context, r client.Reader, stack *appstackv1.AppStack) (*Contents, error) {
	objs, err := Owned(ctx, r, stack)
	if err != nil {
		return nil, err
	}
	pods, err := Pods(ctx, r, stack)
	if err != nil {
		return nil, err
	}
	return &Contents{Objects: objs, Pods: pods}, nil
}

// list lists objects of kind's kind, each with its kind set.
func list(ctx context.Context, r client.Reader, kind client.Object, opts ...client.ListOption,
) ([]client.Object, schema.GroupVersionKind, error) {
	gvk, err := apiutil.GVKForObject(kind, clientgoscheme.Scheme)
	if err != nil {
		return nil, gvk, err
	}
	l, err := clientgoscheme.Scheme.New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err != nil {
		return nil, gvk, err
	}
	objList := l.(client.ObjectList)
	if err := r.List(ctx, objList, opts...); err != nil {
		lo := (&client.ListOptions{}).ApplyOptions(opts)
		return nil, gvk, fmt.Errorf("list %s in namespace %s: %w", gvk.Kind, lo.Namespace, err)
	}
	var out []client.Object
	err = meta.EachListItem(objList, func(o runtime.Object) error {
		obj := o.(client.Object)
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		out = append(out, obj)
		return nil
	})
	return out, gvk, err
}

// Health is an object's kstatus health (Current, InProgress, Failed, ...) and its
// one-line message; Unknown with the reason when it cannot be computed.
func Health(obj client.Object, gvk schema.GroupVersionKind) (health, message string) {
	h, msg, err := status.Readiness(obj, gvk)
	if err != nil {
		return "Unknown", err.Error()
	}
	return string(h), msg
}

// Pods lists the pods of each component (labelled with the stack and the
// component, as the workloads select them), by component, each sorted by name.
func Pods(ctx context.Context, r client.Reader, stack *appstackv1.AppStack) (map[string][]corev1.Pod, error) {
	ns := render.NamespaceName(stack)
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{render.LabelStack: stack.Name},
		client.HasLabels{render.LabelComponent}); err != nil {
		return nil, fmt.Errorf("list pods in namespace %s: %w", ns, err)
	}
	slices.SortFunc(pods.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	out := map[string][]corev1.Pod{}
	for _, p := range pods.Items {
		component := p.Labels[render.LabelComponent]
		out[component] = append(out[component], p)
	}
	return out, nil
}

// PodMessage is a pod's state in a line: ready containers of all (the app
// containers, as kubectl counts them: a ready sidecar started as an init
// container does not make the app ready), then each container, init ones
// included, that waits with its reason, and a scheduling failure.
func PodMessage(p *corev1.Pod) string {
	ready, total := ReadyContainers(p), len(p.Status.ContainerStatuses)
	var problems []string
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			problems = append(problems, fmt.Sprintf("%s: %s", cs.Name, w.Reason))
		}
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse {
			problems = append(problems, cond.Reason+": "+cond.Message)
		}
	}
	msg := fmt.Sprintf("%d/%d ready", ready, total)
	if len(problems) > 0 {
		msg += "; " + strings.Join(problems, "; ")
	}
	return msg
}

// ReadyContainers counts a pod's app containers that are ready (a ready sidecar
// started as an init container does not count, as kubectl counts them).
func ReadyContainers(p *corev1.Pod) int {
	ready := 0
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Ready {
			ready++
		}
	}
	return ready
}

// Revisions are the stack's own recorded revisions (plan.OwnRevisions), oldest
// first.
func Revisions(ctx context.Context, r client.Reader, stack *appstackv1.AppStack) ([]appsv1.ControllerRevision, error) {
	list := &appsv1.ControllerRevisionList{}
	if err := r.List(ctx, list, plan.RevisionListOptions(stack)...); err != nil {
		return nil, fmt.Errorf("list revisions of %s: %w", stack.Name, err)
	}
	return plan.OwnRevisions(stack, list.Items), nil
}

// RevisionNote marks a revision that failed and was rolled back automatically,
// and the revision whose workloads run instead of the spec's; empty otherwise.
func RevisionNote(stack *appstackv1.AppStack, r *appsv1.ControllerRevision) string {
	var notes []string
	if rb := stack.Status.Rollback; rb != nil && rb.Revision == r.Revision {
		notes = append(notes, fmt.Sprintf("RUNNING: automatic rollback from revision %d", rb.FailedRevision))
	}
	if why, ok := r.Annotations[render.AnnotationRolledBack]; ok {
		notes = append(notes, "FAILED: "+why)
	}
	return strings.Join(notes, "; ")
}

// RevisionSummary is a revision's spec in one line: each component with its
// images ("web=nginx:1.27 db=postgres:17").
func RevisionSummary(spec appstackv1.AppStackSpec) string {
	parts := make([]string, 0, len(spec.Components))
	for _, c := range spec.Components {
		images := make([]string, 0, len(c.Containers))
		for _, ctr := range c.Containers {
			images = append(images, ctr.Image)
		}
		parts = append(parts, fmt.Sprintf("%s=%s", c.Name, strings.Join(images, ",")))
	}
	return strings.Join(parts, " ")
}

// FindRevision is revision number of the stack's revisions (as Revisions lists
// them), or an error that names the revisions there are.
func FindRevision(stack string, revs []appsv1.ControllerRevision, number int64) (*appsv1.ControllerRevision, error) {
	i := slices.IndexFunc(revs, func(r appsv1.ControllerRevision) bool { return r.Revision == number })
	if i < 0 {
		have := make([]string, 0, len(revs))
		for _, r := range revs {
			have = append(have, fmt.Sprint(r.Revision))
		}
		if len(have) == 0 {
			return nil, fmt.Errorf("stack %s has no revision %d; it has no recorded revision yet", stack, number)
		}
		return nil, fmt.Errorf("stack %s has no revision %d; it has %s", stack, number, strings.Join(have, ", "))
	}
	return &revs[i], nil
}
