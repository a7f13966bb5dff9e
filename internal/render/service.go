package render

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Service renders the Service of a component, or nil when it gets none: a component
// gets one when it has a service block, or when a container declares a port
// (DESIGN §3.4). Type None suppresses it.
func Service(stack *appstackv1.AppStack, c *appstackv1.Component) *corev1.Service {
	typ := appstackv1.ServiceTypeClusterIP
	var ports []corev1.ServicePort
	if c.Service != nil {
		if c.Service.Type != "" {
			typ = c.Service.Type
		}
		ports = servicePorts(c.Service.Ports)
	}
	if typ == appstackv1.ServiceTypeNone {
		return nil
	}
	if len(ports) == 0 {
		ports = containerServicePorts(c.Containers)
	}
	if len(ports) == 0 && c.Service == nil {
		return nil
	}

	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: componentMeta(stack, c.Name),
		Spec: corev1.ServiceSpec{
			Selector: SelectorLabels(stack, c.Name),
			Ports:    ports,
		},
	}
	switch typ {
	case appstackv1.ServiceTypeHeadless:
		svc.Spec.Type = corev1.ServiceTypeClusterIP
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	default:
		svc.Spec.Type = corev1.ServiceType(typ)
	}
	return svc
}

func servicePorts(in []appstackv1.ServicePort) []corev1.ServicePort {
	out := make([]corev1.ServicePort, 0, len(in))
	for _, p := range in {
		target := intstr.FromInt32(p.Port)
		if p.TargetPort != nil {
			target = *p.TargetPort
		}
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		out = append(out, corev1.ServicePort{Name: p.Name, Port: p.Port, TargetPort: target, Protocol: proto})
	}
	nameUnnamedPorts(out)
	return out
}

// containerServicePorts is the default Service: one port per distinct container
// port, same number, targeting the container port.
func containerServicePorts(containers []corev1.Container) []corev1.ServicePort {
	var out []corev1.ServicePort
	seen := map[string]bool{}
	for _, ctr := range containers {
		for _, p := range ctr.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			key := portName(corev1.ContainerPort{ContainerPort: p.ContainerPort, Protocol: proto})
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
				Protocol:   proto,
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
