package render_test

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func TestService(t *testing.T) {
	ctr := func(ports ...corev1.ContainerPort) corev1.Container {
		return corev1.Container{Name: "c", Image: "img", Ports: ports}
	}
	tests := []struct {
		name      string
		component appstackv1.Component
		wantNil   bool
		wantType  corev1.ServiceType
		wantIP    string
		wantPorts []corev1.ServicePort
	}{{
		name:      "no ports and no service block: no Service",
		wantNil:   true,
		component: appstackv1.Component{Name: "worker", Containers: []corev1.Container{ctr()}},
	}, {
		name: "container ports become a ClusterIP Service, one port each, deduplicated across sidecars",
		component: appstackv1.Component{Name: "web", Containers: []corev1.Container{
			ctr(corev1.ContainerPort{Name: "http", ContainerPort: 80}, corev1.ContainerPort{ContainerPort: 9090}),
			{Name: "sidecar", Image: "img", Ports: []corev1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 53, Protocol: corev1.ProtocolUDP}}},
		}},
		wantType: corev1.ServiceTypeClusterIP,
		wantPorts: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromInt32(80), Protocol: corev1.ProtocolTCP},
			{Name: "tcp-9090", Port: 9090, TargetPort: intstr.FromInt32(9090), Protocol: corev1.ProtocolTCP},
			{Name: "udp-53", Port: 53, TargetPort: intstr.FromInt32(53), Protocol: corev1.ProtocolUDP},
		},
	}, {
		name: "type None suppresses the Service",
		component: appstackv1.Component{Name: "web", Containers: []corev1.Container{ctr(corev1.ContainerPort{ContainerPort: 80})},
			Service: &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeNone}},
		wantNil: true,
	}, {
		name: "Headless keeps type ClusterIP with clusterIP None",
		component: appstackv1.Component{Name: "db", Containers: []corev1.Container{ctr(corev1.ContainerPort{ContainerPort: 5432})},
			Service: &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeHeadless}},
		wantType:  corev1.ServiceTypeClusterIP,
		wantIP:    corev1.ClusterIPNone,
		wantPorts: []corev1.ServicePort{{Name: "tcp-5432", Port: 5432, TargetPort: intstr.FromInt32(5432), Protocol: corev1.ProtocolTCP}},
	}, {
		name: "explicit ports win, targetPort defaults to port, unnamed ports get names when there are several",
		component: appstackv1.Component{Name: "web", Containers: []corev1.Container{ctr(corev1.ContainerPort{Name: "http", ContainerPort: 8080})},
			Service: &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeNodePort, Ports: []appstackv1.ServicePort{
				{Port: 80, TargetPort: ptr.To(intstr.FromString("http"))},
				{Port: 9376},
			}}},
		wantType: corev1.ServiceTypeNodePort,
		wantPorts: []corev1.ServicePort{
			{Name: "tcp-80", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
			{Name: "tcp-9376", Port: 9376, TargetPort: intstr.FromInt32(9376), Protocol: corev1.ProtocolTCP},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			stack := stackWith(tt.component)
			svcs := render.Services(stack, &stack.Spec.Components[0])
			if tt.wantNil {
				g.Expect(svcs).To(BeEmpty())
				return
			}
			g.Expect(svcs).To(HaveLen(1))
			svc := svcs[0]
			g.Expect(svc.Name).To(Equal(tt.component.Name))
			g.Expect(svc.Namespace).To(Equal("shop"))
			g.Expect(svc.Spec.Type).To(Equal(tt.wantType))
			g.Expect(svc.Spec.ClusterIP).To(Equal(tt.wantIP))
			g.Expect(svc.Spec.Ports).To(Equal(tt.wantPorts))
			g.Expect(svc.Spec.Selector).To(Equal(map[string]string{render.LabelStack: "shop", render.LabelComponent: tt.component.Name}))
		})
	}
}
