package render

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// ProtectedNamespaces are never a stack's namespace: the cluster's own and the
// operator's. The CRD schema refuses them too.
var ProtectedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", "appstack-system"}

// Validate checks what the CRD schema cannot, or what a stack read from a file
// (the CLI works offline, without the apiserver's checks) may get wrong. Each error
// names the field and what would make it valid.
func Validate(stack *appstackv1.AppStack) field.ErrorList {
	var errs field.ErrorList
	if ns := NamespaceName(stack); slices.Contains(ProtectedNamespaces, ns) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "namespace", "name"),
			fmt.Sprintf("namespace %s is protected; choose a namespace of your own", ns)))
	}
	components := field.NewPath("spec", "components")
	if len(stack.Spec.Components) == 0 {
		errs = append(errs, field.Required(components, "a stack needs at least one component"))
	}
	seen := map[string]bool{}
	for i := range stack.Spec.Components {
		c := &stack.Spec.Components[i]
		p := components.Index(i)
		if seen[c.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		}
		seen[c.Name] = true
		errs = append(errs, validateComponent(c, p)...)
	}
	return errs
}

func validateComponent(c *appstackv1.Component, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Kind != "" && c.Kind != appstackv1.KindDeployment {
		errs = append(errs, field.NotSupported(p.Child("kind"), c.Kind, []string{string(appstackv1.KindDeployment)}))
	}
	if len(c.Containers) == 0 {
		errs = append(errs, field.Required(p.Child("containers"), "a component needs at least one container"))
	}
	volumes := map[string]bool{}
	for _, v := range c.Volumes {
		volumes[v.Name] = true
	}
	portNames := map[string]bool{}
	for i, ctr := range c.Containers {
		cp := p.Child("containers").Index(i)
		for j, m := range ctr.VolumeMounts {
			if !volumes[m.Name] {
				errs = append(errs, field.Invalid(cp.Child("volumeMounts").Index(j).Child("name"), m.Name,
					fmt.Sprintf("names no volume of this component; add it to %s or fix the mount", p.Child("volumes"))))
			}
		}
		for _, port := range ctr.Ports {
			if port.Name != "" {
				portNames[port.Name] = true
			}
		}
	}
	if c.Service != nil {
		for i, sp := range c.Service.Ports {
			if sp.TargetPort != nil && sp.TargetPort.Type == intstr.String && !portNames[sp.TargetPort.StrVal] {
				errs = append(errs, field.Invalid(p.Child("service", "ports").Index(i).Child("targetPort"), sp.TargetPort.StrVal,
					"names no port of any container; use a containers[].ports[].name or a port number"))
			}
		}
		if len(c.Service.Ports) == 0 && c.Service.Type != appstackv1.ServiceTypeNone && !hasContainerPort(c.Containers) {
			errs = append(errs, field.Required(p.Child("service", "ports"),
				"the containers declare no ports to derive the Service from; list the Service ports or set service.type: None"))
		}
	}
	return errs
}

func hasContainerPort(containers []corev1.Container) bool {
	for _, c := range containers {
		if len(c.Ports) > 0 {
			return true
		}
	}
	return false
}
