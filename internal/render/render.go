// Package render turns an AppStack into the native objects that run it. Every
// function here is pure: no client, no clock, no randomness; the same stack renders
// to byte-identical objects. The controller applies what Render returns, and the
// kubectl plugin prints it.
package render

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Render returns the desired children of a stack: its namespace first, then each
// component's workload and Service in spec order. It returns a field error (see
// Validate) instead of objects when the spec cannot be rendered.
func Render(stack *appstackv1.AppStack) ([]client.Object, error) {
	if err := Validate(stack).ToAggregate(); err != nil {
		return nil, err
	}
	objs := []client.Object{Namespace(stack)}
	for i := range stack.Spec.Components {
		c := &stack.Spec.Components[i]
		objs = append(objs, Deployment(stack, c))
		if svc := Service(stack, c); svc != nil {
			objs = append(objs, svc)
		}
	}
	return objs, nil
}
