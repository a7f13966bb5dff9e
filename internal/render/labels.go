package render

import (
	"maps"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Labels every child carries. Selectors use only LabelStack and
// LabelComponent, so they never change when other labels do.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelStack     = "apps.appstack.dev/stack"
	LabelComponent = "apps.appstack.dev/component"
	// LabelVolume names the stack volume a PersistentVolumeClaim was made for.
	LabelVolume = "apps.appstack.dev/volume"

	// AnnotationStackUID on a namespace the stack created, and on a claim it kept,
	// is that stack's UID: the namespace's owner (namespaces carry no owner
	// reference, so that no garbage collection can delete one), and who held the
	// data when a later stack of the same name takes it back.
	AnnotationStackUID = "apps.appstack.dev/stack-uid"

	// ManagedBy is the value of LabelManagedBy and the server-side apply field manager.
	ManagedBy = "appstack-operator"
)

// StackLabels are the labels of a child that belongs to the stack as a whole
// (its namespace, configs, volumes).
func StackLabels(stack *appstackv1.AppStack) map[string]string {
	return map[string]string{
		LabelInstance:  stack.Name,
		LabelManagedBy: ManagedBy,
		LabelStack:     stack.Name,
	}
}

// ComponentLabels are the labels of a child that belongs to one component.
func ComponentLabels(stack *appstackv1.AppStack, component string) map[string]string {
	l := StackLabels(stack)
	l[LabelName] = component
	l[LabelComponent] = component
	return l
}

// podLabels are the labels of a component's workload and pods: the user's, then the
// operator's, which win.
func podLabels(stack *appstackv1.AppStack, c *appstackv1.Component) map[string]string {
	l := maps.Clone(c.Labels)
	if l == nil {
		l = map[string]string{}
	}
	maps.Copy(l, ComponentLabels(stack, c.Name))
	return l
}

// SelectorLabels select the pods of one component. They are immutable on a
// workload, so they hold only what can never change for the component.
func SelectorLabels(stack *appstackv1.AppStack, component string) map[string]string {
	return map[string]string{
		LabelStack:     stack.Name,
		LabelComponent: component,
	}
}
