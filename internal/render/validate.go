package render

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// ProtectedNamespaces are never a stack's namespace: the cluster's own and the
// operator's. The CRD schema refuses them too.
var ProtectedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", "appstack-system"}

// Validate checks what the CRD schema cannot (dependency cycles, two parts of the
// spec rendering one object: see validateNames) and the references the renderer
// relies on, so that Render never produces an object the apiserver would refuse, or
// that two parts of the stack would fight over, for a reason the user could have
// been told up front. The apiserver already enforces the schema's rules for stored
// stacks; the kubectl plugin, working offline, runs both. Each error names the field
// and what would make it valid.
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
		errs = append(errs, validateComponent(stack, c, p)...)
	}
	errs = append(errs, validateNames(stack)...)
	if len(errs) == 0 {
		errs = append(errs, validateAcyclic(stack)...)
	}
	return errs
}

func validateComponent(stack *appstackv1.AppStack, c *appstackv1.Component, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(c.Containers) == 0 {
		errs = append(errs, field.Required(p.Child("containers"), "a component needs at least one container"))
	}
	for i, d := range c.DependsOn {
		switch {
		case d == c.Name:
			errs = append(errs, field.Invalid(p.Child("dependsOn").Index(i), d, "a component cannot depend on itself"))
		case Component(stack, d) == nil:
			errs = append(errs, field.NotFound(p.Child("dependsOn").Index(i), d))
		}
	}
	volumes := map[string]bool{}
	for i, v := range c.Volumes {
		volumes[v.Name] = true
		vp := p.Child("volumes").Index(i)
		if v.Config != "" && !slices.ContainsFunc(stack.Spec.Configs, func(cfg appstackv1.Config) bool { return cfg.Name == v.Config }) {
			errs = append(errs, field.Invalid(vp.Child("config"), v.Config, "names no entry of spec.configs"))
		}
		if v.PersistentVolume != "" && !slices.ContainsFunc(stack.Spec.Volumes, func(sv appstackv1.StackVolume) bool { return sv.Name == v.PersistentVolume }) {
			errs = append(errs, field.Invalid(vp.Child("persistentVolume"), v.PersistentVolume, "names no entry of spec.volumes"))
		}
	}
	for _, t := range c.VolumeClaimTemplates {
		volumes[t.Name] = true
	}
	portNames := map[string]bool{}
	for _, list := range []struct {
		name       string
		containers []corev1.Container
	}{{"initContainers", c.InitContainers}, {"containers", c.Containers}} {
		for i, ctr := range list.containers {
			cp := p.Child(list.name).Index(i)
			for j, m := range ctr.VolumeMounts {
				if !volumes[m.Name] {
					errs = append(errs, field.Invalid(cp.Child("volumeMounts").Index(j).Child("name"), m.Name,
						fmt.Sprintf("names no volume of this component; add it to %s or fix the mount", p.Child("volumes"))))
				}
			}
			for j, port := range ctr.Ports {
				if port.ContainerPort < 1 || port.ContainerPort > 65535 {
					errs = append(errs, field.Invalid(cp.Child("ports").Index(j).Child("containerPort"), port.ContainerPort, "must be between 1 and 65535"))
				}
				if port.Name != "" && list.name == "containers" {
					portNames[port.Name] = true
				}
			}
		}
	}
	if c.Service != nil {
		errs = append(errs, validateService(c, p, portNames)...)
	}
	if c.Ingress != nil {
		if svcs := Services(stack, c); len(svcs) == 0 || len(svcs[0].Spec.Ports) == 0 {
			errs = append(errs, field.Invalid(p.Child("ingress"), c.Ingress.Host,
				"routes to the component's Service, which has no ports; declare a container port or service.ports"))
		}
	}
	return errs
}

// validateService checks a component's service against its containers' ports
// (portNames: the named ports of its containers).
func validateService(c *appstackv1.Component, p *field.Path, portNames map[string]bool) field.ErrorList {
	var errs field.ErrorList
	for i, sp := range c.Service.Ports {
		if sp.TargetPort != nil && sp.TargetPort.Type == intstr.String && !portNames[sp.TargetPort.StrVal] {
			errs = append(errs, field.Invalid(p.Child("service", "ports").Index(i).Child("targetPort"), sp.TargetPort.StrVal,
				"names no port of any container; use a containers[].ports[].name or a port number"))
		}
	}
	headlessByDefault := c.Service.Type == "" && KindOf(c) == appstackv1.KindStatefulSet
	needsPorts := c.Service.Type != appstackv1.ServiceTypeNone && c.Service.Type != appstackv1.ServiceTypeHeadless &&
		!headlessByDefault
	if needsPorts && len(c.Service.Ports) == 0 && !hasContainerPort(c.Containers) {
		errs = append(errs, field.Required(p.Child("service", "ports"),
			"the containers declare no ports to derive the Service from; list the Service ports or set service.type: None"))
	}
	return errs
}

func hasContainerPort(containers []corev1.Container) bool {
	return slices.ContainsFunc(containers, func(c corev1.Container) bool { return len(c.Ports) > 0 })
}

// validateAcyclic refuses dependency cycles, which the CRD schema cannot express,
// and spells the cycle out: "a → b → c → a".
func validateAcyclic(stack *appstackv1.AppStack) field.ErrorList {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var path []string
	var cycle []string
	var visit func(name string) bool
	visit = func(name string) bool {
		switch state[name] {
		case visiting:
			start := slices.Index(path, name)
			cycle = append(slices.Clone(path[start:]), name)
			return true
		case done:
			return false
		}
		state[name] = visiting
		path = append(path, name)
		if c := Component(stack, name); c != nil {
			for _, d := range c.DependsOn {
				if visit(d) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return false
	}
	for i, c := range stack.Spec.Components {
		if visit(c.Name) {
			idx := slices.IndexFunc(stack.Spec.Components, func(x appstackv1.Component) bool { return x.Name == cycle[0] })
			if idx < 0 {
				idx = i
			}
			return field.ErrorList{field.Invalid(field.NewPath("spec", "components").Index(idx).Child("dependsOn"),
				stack.Spec.Components[idx].DependsOn,
				"dependency cycle: "+strings.Join(cycle, " → ")+"; remove one of these dependsOn entries")}
		}
	}
	return nil
}

// DeletionOrder groups the components for deletion: dependents before what they
// depend on. Each group may go at once; a group goes only after the previous one is
// gone. The spec must be acyclic (see Validate); components in a cycle, should one
// slip through, come last together.
func DeletionOrder(stack *appstackv1.AppStack) [][]string {
	left := map[string]bool{}
	for _, c := range stack.Spec.Components {
		left[c.Name] = true
	}
	var levels [][]string
	for len(left) > 0 {
		var level []string
		for _, c := range stack.Spec.Components {
			if !left[c.Name] {
				continue
			}
			// c may go when no remaining component depends on it.
			needed := false
			for _, o := range stack.Spec.Components {
				if left[o.Name] && o.Name != c.Name && slices.Contains(o.DependsOn, c.Name) {
					needed = true
					break
				}
			}
			if !needed {
				level = append(level, c.Name)
			}
		}
		if len(level) == 0 { // a cycle: take the rest together
			for _, c := range stack.Spec.Components {
				if left[c.Name] {
					level = append(level, c.Name)
				}
			}
		}
		for _, n := range level {
			delete(left, n)
		}
		levels = append(levels, level)
	}
	return levels
}
