package render

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Services renders the Services of a component, the one named after the
// component first:
//   - a service block, or a container port, gives a Service (ClusterIP unless the
//     block says otherwise; Jobs and CronJobs only with a service block);
//   - type None suppresses it;
//   - a StatefulSet always has a governing headless Service: the component's own
//     when that is headless (the default for a StatefulSet), else <name>-headless.
func Services(stack *appstackv1.AppStack, c *appstackv1.Component) []*corev1.Service {
	kind := KindOf(c)
	typ := serviceType(c)
	ports := servicePorts(c)

	if kind == appstackv1.KindStatefulSet {
		if typ == appstackv1.ServiceTypeHeadless || typ == appstackv1.ServiceTypeNone {
			return []*corev1.Service{service(stack, c, c.Name, appstackv1.ServiceTypeHeadless, ports)}
		}
		return []*corev1.Service{
			service(stack, c, c.Name, typ, ports),
			service(stack, c, GoverningServiceName(c), appstackv1.ServiceTypeHeadless, ports),
		}
	}
	if typ == appstackv1.ServiceTypeNone {
		return nil
	}
	if c.Service == nil && (len(ports) == 0 || kind == appstackv1.KindJob || kind == appstackv1.KindCronJob) {
		return nil
	}
	return []*corev1.Service{service(stack, c, c.Name, typ, ports)}
}

// GoverningServiceName is the headless Service a StatefulSet component's pods get
// their DNS names from.
func GoverningServiceName(c *appstackv1.Component) string {
	switch serviceType(c) {
	case appstackv1.ServiceTypeHeadless, appstackv1.ServiceTypeNone:
		return c.Name
	default:
		return c.Name + "-headless"
	}
}

func serviceType(c *appstackv1.Component) appstackv1.ServiceType {
	if c.Service != nil && c.Service.Type != "" {
		return c.Service.Type
	}
	if KindOf(c) == appstackv1.KindStatefulSet {
		return appstackv1.ServiceTypeHeadless
	}
	return appstackv1.ServiceTypeClusterIP
}

func service(stack *appstackv1.AppStack, c *appstackv1.Component, name string, typ appstackv1.ServiceType, ports []corev1.ServicePort) *corev1.Service {
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: componentMeta(stack, name, c.Name),
		Spec: corev1.ServiceSpec{
			Selector: SelectorLabels(stack, c.Name),
			Ports:    ports,
		},
	}
	switch typ {
	case appstackv1.ServiceTypeHeadless:
		svc.Spec.Type = corev1.ServiceTypeClusterIP
		svc.Spec.ClusterIP = corev1.ClusterIPNone
		// A headless Service has no node ports.
		svc.Spec.Ports = make([]corev1.ServicePort, len(ports))
		for i, p := range ports {
			p.NodePort = 0
			svc.Spec.Ports[i] = p
		}
		if len(ports) == 0 {
			svc.Spec.Ports = nil
		}
	default:
		svc.Spec.Type = corev1.ServiceType(typ)
	}
	return svc
}

// servicePorts are the service block's ports, or else one port per distinct
// container port.
func servicePorts(c *appstackv1.Component) []corev1.ServicePort {
	if c.Service != nil && len(c.Service.Ports) > 0 {
		out := make([]corev1.ServicePort, 0, len(c.Service.Ports))
		for _, p := range c.Service.Ports {
			target := intstr.FromInt32(p.Port)
			if p.TargetPort != nil {
				target = *p.TargetPort
			}
			out = append(out, corev1.ServicePort{Name: p.Name, Port: p.Port, TargetPort: target, Protocol: protocol(p.Protocol), NodePort: p.NodePort})
		}
		nameUnnamedPorts(out)
		return out
	}
	return containerServicePorts(c.Containers)
}

func protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// containerServicePorts is the default Service: one port per distinct container
// port, same number, targeting the container port.
func containerServicePorts(containers []corev1.Container) []corev1.ServicePort {
	var out []corev1.ServicePort
	seen := map[string]bool{}
	for _, ctr := range containers {
		for _, p := range ctr.Ports {
			p.Protocol = protocol(p.Protocol)
			key := portName(p)
			if seen[key] {
				continue
			}
			seen[key] = true
			name := p.Name
			if name == "" {
				name = key
			}
			out = append(out, corev1.ServicePort{
				Name:       name,
				Port:       p.ContainerPort,
				TargetPort: intstr.FromInt32(p.ContainerPort),
				Protocol:   p.Protocol,
			})
		}
	}
	return out
}

// nameUnnamedPorts gives every port a name when there is more than one, as the
// API requires.
func nameUnnamedPorts(ports []corev1.ServicePort) {
	if len(ports) < 2 {
		return
	}
	for i := range ports {
		if ports[i].Name == "" {
			ports[i].Name = portName(corev1.ContainerPort{ContainerPort: ports[i].Port, Protocol: ports[i].Protocol})
		}
	}
}
