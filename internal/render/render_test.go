package render_test

import (
	"context"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/manifest"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current renderer")

// samples reads every stack in config/samples as the operator sees it: validated
// and defaulted by the CRD schema, as the apiserver stores it. A field the API does
// not have fails the test, as it would fail `kubectl apply`.
func samples(t *testing.T) map[string]*appstackv1.AppStack {
	t.Helper()
	v, err := schema.ForAppStack()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "*.yaml"))
	live, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "real-node", "*.yaml"))
	files = append(files, live...)
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples found: %v", err)
	}
	out := map[string]*appstackv1.AppStack{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		js, err := yaml.YAMLToJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(js, &obj); err != nil {
			t.Fatal(err)
		}
		if errs := v.Validate(context.Background(), obj); len(errs) > 0 {
			t.Fatalf("%s: %v", f, errs.ToAggregate())
		}
		stack := &appstackv1.AppStack{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, stack, true); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".yaml")] = stack
	}
	return out
}

func TestRenderSamplesGolden(t *testing.T) {
	for name, stack := range samples(t) {
		t.Run(name, func(t *testing.T) {
			desired, err := render.Render(stack)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			got, err := manifest.YAML(desired.Objects())
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run `go test ./internal/render -update` to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("rendered %s differs from %s; if the change is intended, run `go test ./internal/render -update` and review the diff.\n--- got\n%s", name, golden, got)
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	for name, stack := range samples(t) {
		first, err := render.Render(stack)
		if err != nil {
			t.Fatal(err)
		}
		a, err := manifest.YAML(first.Objects())
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			again, _ := render.Render(stack.DeepCopy())
			b, _ := manifest.YAML(again.Objects())
			if string(a) != string(b) {
				t.Fatalf("%s: render %d differs from the first", name, i)
			}
		}
	}
}

func stackWith(c appstackv1.Component) *appstackv1.AppStack {
	return &appstackv1.AppStack{
		ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec:       appstackv1.AppStackSpec{Components: []appstackv1.Component{c}},
	}
}

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

func TestDeploymentDefaults(t *testing.T) {
	g := NewWithT(t)
	stack := stackWith(appstackv1.Component{Name: "web", Containers: []corev1.Container{{Name: "c", Image: "img"}}})
	d := render.Deployment(stack, &stack.Spec.Components[0])
	g.Expect(*d.Spec.Replicas).To(Equal(int32(1)), "replicas defaults to 1")
	g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(render.LabelComponent, "web"))
	for k, v := range d.Spec.Selector.MatchLabels {
		g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(k, v), "the pod template must match the selector")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appstackv1.AppStack)
		want   string
	}{{
		name: "volume mount naming no volume",
		mutate: func(s *appstackv1.AppStack) {
			s.Spec.Components[0].Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "html", MountPath: "/x"}}
		},
		want: `spec.components[0].containers[0].volumeMounts[0].name: Invalid value: "html": names no volume of this component`,
	}, {
		name: "service targetPort naming no container port",
		mutate: func(s *appstackv1.AppStack) {
			s.Spec.Components[0].Service = &appstackv1.ServiceSpec{Ports: []appstackv1.ServicePort{{Port: 80, TargetPort: ptr.To(intstr.FromString("web"))}}}
		},
		want: `spec.components[0].service.ports[0].targetPort: Invalid value: "web": names no port of any container`,
	}, {
		name: "protected namespace",
		mutate: func(s *appstackv1.AppStack) {
			s.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "kube-system"}
		},
		want: `spec.namespace.name: Forbidden: namespace kube-system is protected`,
	}, {
		name: "duplicate component",
		mutate: func(s *appstackv1.AppStack) {
			s.Spec.Components = append(s.Spec.Components, s.Spec.Components[0])
		},
		want: `spec.components[1].name: Duplicate value: "web"`,
	}, {
		name: "service block with no ports to derive",
		mutate: func(s *appstackv1.AppStack) {
			s.Spec.Components[0].Service = &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeClusterIP}
		},
		want: `spec.components[0].service.ports: Required value: the containers declare no ports`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			stack := stackWith(appstackv1.Component{Name: "web", Containers: []corev1.Container{{Name: "c", Image: "img"}}})
			g.Expect(render.Validate(stack)).To(BeEmpty(), "the base stack is valid")
			tt.mutate(stack)
			_, err := render.Render(stack)
			g.Expect(err).To(MatchError(ContainSubstring(tt.want)))
		})
	}
}

// A stack stored before the CRD refused them may hold namespace labels that the
// operator or Pod Security interpret: they never reach the namespace (a retained
// label would be removed and put back on every pass; an old enforce-version would
// weaken Pod Security).
func TestNamespaceDropsReservedKeys(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Spec: appstackv1.AppStackSpec{
		Namespace: &appstackv1.NamespaceSpec{
			Labels: map[string]string{"team": "web", render.LabelRetained: "true",
				render.LabelPodSecurityEnforceVersion: "v1.18", render.LabelPodSecurityWarn: "privileged"},
			Annotations: map[string]string{"owner": "web-team", render.AnnotationStackUID: "forged"},
		},
	}}
	ns := render.Namespace(stack)
	want := map[string]string{"team": "web", render.LabelPodSecurityEnforce: "baseline", render.LabelPodSecurityEnforceVersion: "latest",
		render.LabelInstance: "shop", render.LabelManagedBy: render.ManagedBy, render.LabelStack: "shop"}
	if !maps.Equal(ns.Labels, want) {
		t.Errorf("labels %v, want %v", ns.Labels, want)
	}
	if !maps.Equal(ns.Annotations, map[string]string{"owner": "web-team"}) {
		t.Errorf("annotations %v", ns.Annotations)
	}
}
