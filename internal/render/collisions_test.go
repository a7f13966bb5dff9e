package render_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/schema"
	"github.com/appstack-dev/appstack-operator/test/cases"
)

// The stacks of cases.Unrenderable pass the CRD schema, as the apiserver would store
// them (so they do not belong in cases.InvalidStacks), and Render refuses each,
// naming both fields.
func TestUnrenderableCases(t *testing.T) {
	v, err := schema.ForAppStack()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases.Unrenderable {
		t.Run(tc.Name, func(t *testing.T) {
			js, err := yaml.YAMLToJSON([]byte(tc.Spec))
			if err != nil {
				t.Fatal(err)
			}
			var spec map[string]any
			if err := utiljson.Unmarshal(js, &spec); err != nil {
				t.Fatal(err)
			}
			obj := map[string]any{"apiVersion": "apps.appstack.dev/v1alpha1", "kind": "AppStack",
				"metadata": map[string]any{"name": "shop"}, "spec": spec}
			if errs := v.Validate(context.Background(), obj); len(errs) > 0 {
				t.Fatalf("the CRD schema refuses it (move it to cases.InvalidStacks): %v", errs.ToAggregate())
			}
			stack := &appstackv1.AppStack{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, stack, true); err != nil {
				t.Fatal(err)
			}
			_, err = render.Render(stack)
			if err == nil || !strings.Contains(err.Error(), tc.Want) {
				t.Fatalf("got %v\nwant an error containing %q", err, tc.Want)
			}
		})
	}
}

func TestNameCollisions(t *testing.T) {
	app := func(ports ...int32) []corev1.Container { return []corev1.Container{container("app", ports...)} }
	sts := func(name string, templates ...string) appstackv1.Component {
		c := appstackv1.Component{Name: name, Kind: appstackv1.KindStatefulSet, Containers: app(5432)}
		for _, tn := range templates {
			c.VolumeClaimTemplates = append(c.VolumeClaimTemplates, appstackv1.VolumeClaimTemplate{Name: tn, Size: resource.MustParse("1Gi")})
		}
		return c
	}
	clusterIP := &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeClusterIP}
	volume := func(name string) appstackv1.StackVolume {
		return appstackv1.StackVolume{Name: name, Size: resource.MustParse("1Gi")}
	}
	tests := []struct {
		name string
		spec appstackv1.AppStackSpec
		want []string // one per error; none: the stack renders
	}{{
		name: "a component named like a StatefulSet's governing headless Service",
		spec: appstackv1.AppStackSpec{Components: []appstackv1.Component{
			func() appstackv1.Component { c := sts("db"); c.Service = clusterIP; return c }(),
			{Name: "db-headless", Containers: app(80)},
		}},
		want: []string{`spec.components[1].name: Duplicate value: "db-headless": renders Service db-headless, which spec.components[0] (StatefulSet db) already renders as its governing headless Service; rename one of them`},
	}, {
		name: "a StatefulSet whose governing headless Service another component's Service already is",
		spec: appstackv1.AppStackSpec{Components: []appstackv1.Component{
			{Name: "db-headless", Kind: appstackv1.KindJob, Containers: app(80), Service: clusterIP},
			func() appstackv1.Component {
				c := sts("db")
				c.Service = &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeLoadBalancer}
				return c
			}(),
		}},
		want: []string{`spec.components[1].name: Invalid value: "db": renders Service db-headless as its governing headless Service, which spec.components[0] (Job db-headless) already renders as its Service; rename one of them`},
	}, {
		name: "a stack volume named like a StatefulSet's claim",
		spec: appstackv1.AppStackSpec{
			Volumes:    []appstackv1.StackVolume{volume("shared"), volume("data-db-12")},
			Components: []appstackv1.Component{sts("db", "logs", "data")},
		},
		want: []string{`spec.volumes[1].name: Invalid value: "data-db-12": renders PersistentVolumeClaim data-db-12, the name the StatefulSet controller gives the claim of pod 12 from spec.components[0].volumeClaimTemplates[1] (template data of StatefulSet db); rename one of them`},
	}, {
		name: "two StatefulSets whose claims are named alike",
		spec: appstackv1.AppStackSpec{Components: []appstackv1.Component{sts("db-x", "data"), sts("x", "data-db")}},
		want: []string{`spec.components[1].volumeClaimTemplates[0].name: Invalid value: "data-db": the StatefulSet controller names the claims from spec.components[1].volumeClaimTemplates[0] (template data-db of StatefulSet x) data-db-x-<ordinal>, as it names the claims from spec.components[0].volumeClaimTemplates[0] (template data of StatefulSet db-x); rename one of them`},
	}, {
		name: "a Pod component named like a StatefulSet's pod, whichever comes first",
		spec: appstackv1.AppStackSpec{Components: []appstackv1.Component{
			{Name: "db-3", Kind: appstackv1.KindPod, Containers: app()},
			sts("db"),
		}},
		want: []string{`spec.components[0].name: Invalid value: "db-3": renders Pod db-3, the name the StatefulSet controller gives pod 3 of spec.components[1] (StatefulSet db); rename one of them`},
	}, {
		name: "a Job component named like a CronJob's Job",
		spec: appstackv1.AppStackSpec{Components: []appstackv1.Component{
			{Name: "backup", Kind: appstackv1.KindCronJob, Schedule: "0 * * * *", Containers: app()},
			{Name: "backup-29000000", Kind: appstackv1.KindJob, Containers: app()},
		}},
		want: []string{`spec.components[1].name: Invalid value: "backup-29000000": renders Job backup-29000000, the name the CronJob controller gives the Job of spec.components[0] (CronJob backup) scheduled at minute 29000000; rename one of them`},
	}, {
		name: "two configs of one name (the CRD refuses it too)",
		spec: appstackv1.AppStackSpec{
			Configs:    []appstackv1.Config{{Name: "site"}, {Name: "site"}},
			Components: []appstackv1.Component{{Name: "web", Containers: app()}},
		},
		want: []string{`spec.configs[1].name: Duplicate value: "site": renders ConfigMap site, which spec.configs[0] already renders as its ConfigMap; rename one of them`},
	}, {
		name: "two stack volumes of one name (the CRD refuses it too)",
		spec: appstackv1.AppStackSpec{
			Volumes:    []appstackv1.StackVolume{volume("data"), volume("data")},
			Components: []appstackv1.Component{{Name: "web", Containers: app()}},
		},
		want: []string{`spec.volumes[1].name: Duplicate value: "data": renders PersistentVolumeClaim data, which spec.volumes[0] already renders as its PersistentVolumeClaim; rename one of them`},
	}, {
		name: "two components of one name are reported once, as before",
		spec: appstackv1.AppStackSpec{Components: []appstackv1.Component{
			{Name: "web", Containers: app(80), Autoscaling: &appstackv1.AutoscalingSpec{MaxReplicas: 3}},
			{Name: "web", Containers: app(80), Autoscaling: &appstackv1.AutoscalingSpec{MaxReplicas: 3}},
		}},
		want: []string{`spec.components[1].name: Duplicate value: "web"`},
	}, {
		name: "every collision is reported",
		spec: appstackv1.AppStackSpec{
			Volumes: []appstackv1.StackVolume{volume("data-db-0")},
			Components: []appstackv1.Component{
				func() appstackv1.Component { c := sts("db", "data"); c.Service = clusterIP; return c }(),
				{Name: "db-headless", Containers: app(80)},
				{Name: "db-1", Kind: appstackv1.KindPod, Containers: app()},
			},
		},
		want: []string{
			`spec.components[1].name: Duplicate value: "db-headless"`,
			`spec.volumes[0].name: Invalid value: "data-db-0"`,
			`spec.components[2].name: Invalid value: "db-1"`,
		},
	}, {
		name: "near misses render: the governing Service of a headless StatefulSet is its own",
		spec: appstackv1.AppStackSpec{Components: []appstackv1.Component{sts("db"), {Name: "db-headless", Containers: app(80)}}},
	}, {
		name: "near misses render: a component named <sts>-headless that has no Service",
		spec: appstackv1.AppStackSpec{Components: []appstackv1.Component{
			func() appstackv1.Component { c := sts("db"); c.Service = clusterIP; return c }(),
			{Name: "db-headless", Containers: app()},
			{Name: "x-headless", Containers: app(80), Service: &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeNone}},
		}},
	}, {
		name: "near misses render: volumes without an ordinal, of no template, of a Deployment",
		spec: appstackv1.AppStackSpec{
			Volumes: []appstackv1.StackVolume{volume("data-db"), volume("data-db-x"), volume("logs-db-0"), volume("data-web-0"), volume("data-db-0x")},
			Components: []appstackv1.Component{sts("db", "data"), {Name: "web", Containers: app(80),
				Volumes: []appstackv1.ComponentVolume{{Name: "data", PersistentVolume: "data-db"}}}},
		},
	}, {
		name: "near misses render: Pods and Jobs named like no controller's",
		spec: appstackv1.AppStackSpec{Components: []appstackv1.Component{
			sts("db"),
			{Name: "db-x", Kind: appstackv1.KindPod, Containers: app()},
			{Name: "web", Containers: app(80)},
			{Name: "web-0", Kind: appstackv1.KindPod, Containers: app()},
			{Name: "once", Kind: appstackv1.KindJob, Containers: app()},
			{Name: "once-1", Kind: appstackv1.KindJob, Containers: app()},
			{Name: "db-0-job", Kind: appstackv1.KindJob, Containers: app()},
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Spec: tt.spec}
			errs := render.Validate(stack)
			if len(tt.want) == 0 {
				g.Expect(errs).To(BeEmpty())
				d, err := render.Render(stack)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(duplicates(d.Objects())).To(BeEmpty())
				return
			}
			g.Expect(errs).To(HaveLen(len(tt.want)), "%v", errs)
			for i, want := range tt.want {
				g.Expect(errs[i].Error()).To(HavePrefix(want))
			}
			_, err := render.Render(stack)
			g.Expect(err).To(HaveOccurred(), "Render refuses what Validate refuses")
		})
	}
}

// duplicates lists the kind/name pairs that occur more than once among objs.
func duplicates(objs []client.Object) []string {
	seen := map[string]int{}
	var dups []string
	for _, o := range objs {
		key := o.GetObjectKind().GroupVersionKind().Kind + "/" + o.GetName()
		if seen[key]++; seen[key] == 2 {
			dups = append(dups, key)
		}
	}
	return dups
}

// TestRenderedNamesProperty renders many generated stacks whose names are drawn from
// a small alphabet, so that collisions are common: Render must refuse exactly the
// stacks whose objects, or the objects controllers make from them, would share a
// kind and a name, and everything it renders must have unique kind/name pairs. The
// oracle builds the objects with the exported builders, bypassing Validate, and
// spells out the controllers' names for the ordinals the alphabet can produce.
// The seed is fixed: a failure reproduces.
func TestRenderedNamesProperty(t *testing.T) {
	const runs = 4000
	rng := rand.New(rand.NewPCG(2026, 5))
	var refused, accepted int
	classes := map[string]int{}
	for run := range runs {
		stack := randomStack(rng)
		desired, err := render.Render(stack)
		clash := oracleClash(stack)
		dump := func() string { b, _ := yaml.Marshal(stack.Spec); return string(b) }
		if err != nil {
			refused++
			if clash == "" {
				t.Fatalf("run %d: refused a stack whose objects do not collide: %v\n%s", run, err, dump())
			}
			if msg := err.Error(); !strings.Contains(msg, "Duplicate value") && !strings.Contains(msg, "rename one of them") {
				t.Fatalf("run %d: refused for another reason than a collision (fix the generator): %v\n%s", run, err, dump())
			}
			for _, e := range render.Validate(stack) {
				classes[collisionClass(e.Error())]++
			}
			continue
		}
		accepted++
		if clash != "" {
			t.Fatalf("run %d: rendered a stack whose objects collide (%s)\n%s", run, clash, dump())
		}
		if dups := duplicates(desired.Objects()); len(dups) > 0 {
			t.Fatalf("run %d: rendered %v more than once\n%s", run, dups, dump())
		}
	}
	t.Logf("%d stacks: %d rendered, %d refused %v", runs, accepted, refused, classes)
	if accepted < runs/20 || refused < runs/20 {
		t.Fatalf("the generator must produce both outcomes often: %d rendered, %d refused", accepted, refused)
	}
	for _, class := range []string{"governing Service", "stack volume vs claim", "claim vs claim", "Pod vs StatefulSet pod", "Job vs CronJob Job", "duplicate"} {
		if classes[class] == 0 {
			t.Errorf("no stack was refused for a %s collision; the generator no longer covers it", class)
		}
	}
}

func collisionClass(msg string) string {
	switch {
	case strings.Contains(msg, "governing headless Service"):
		return "governing Service"
	case strings.Contains(msg, "renders PersistentVolumeClaim") && strings.Contains(msg, "the claim of pod"):
		return "stack volume vs claim"
	case strings.Contains(msg, "names the claims from"):
		return "claim vs claim"
	case strings.Contains(msg, "renders Pod"):
		return "Pod vs StatefulSet pod"
	case strings.Contains(msg, "renders Job"):
		return "Job vs CronJob Job"
	case strings.Contains(msg, "Duplicate value"):
		return "duplicate"
	}
	return "other"
}

var (
	words    = []string{"db", "data", "headless", "x"}
	ordinals = []string{"0", "1", "12"} // oracleClash spells out controllers' names up to maxOrdinal
)

const maxOrdinal = 12

// randomName joins one to three words; after the first, ordinals too.
func randomName(rng *rand.Rand) string {
	parts := []string{words[rng.IntN(len(words))]}
	for range rng.IntN(3) {
		if rng.IntN(3) == 0 {
			parts = append(parts, ordinals[rng.IntN(len(ordinals))])
		} else {
			parts = append(parts, words[rng.IntN(len(words))])
		}
	}
	return strings.Join(parts, "-")
}

// randomStack is a stack that Validate refuses for nothing but colliding names.
func randomStack(rng *rand.Rand) *appstackv1.AppStack {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	kinds := []appstackv1.ComponentKind{"", appstackv1.KindDeployment, appstackv1.KindStatefulSet, appstackv1.KindStatefulSet,
		appstackv1.KindDaemonSet, appstackv1.KindJob, appstackv1.KindCronJob, appstackv1.KindPod}
	for range 1 + rng.IntN(4) {
		name := randomName(rng)
		if n := len(stack.Spec.Components); n > 0 && rng.IntN(2) == 0 {
			// Named after another component, as a governing Service, a
			// StatefulSet's pod or a CronJob's Job is, or so that claims of
			// the one and of the other meet (data of db-x, data-db of x).
			other := stack.Spec.Components[rng.IntN(n)].Name
			name = []string{other + "-headless", other + "-0", other + "-12", other + "-x", "db-" + other, "x-" + other}[rng.IntN(6)]
		}
		if render.Component(stack, name) != nil {
			continue // component names are unique by rule of their own
		}
		c := appstackv1.Component{Name: name, Kind: kinds[rng.IntN(len(kinds))]}
		ctr := corev1.Container{Name: "app", Image: "img"}
		hasPorts := rng.IntN(3) > 0
		if hasPorts {
			ctr.Ports = []corev1.ContainerPort{{ContainerPort: 80}}
		}
		c.Containers = []corev1.Container{ctr}
		switch rng.IntN(5) {
		case 1:
			c.Service = &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeHeadless}
		case 2:
			c.Service = &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeNone}
		case 3, 4:
			if hasPorts {
				c.Service = &appstackv1.ServiceSpec{Type: []appstackv1.ServiceType{appstackv1.ServiceTypeClusterIP, appstackv1.ServiceTypeNodePort}[rng.IntN(2)]}
			}
		}
		switch render.KindOf(&c) {
		case appstackv1.KindStatefulSet:
			for range rng.IntN(3) {
				// data-db of x and data of db-x make the same claims.
				name := []string{"data", "data-db", "data-x", "x"}[rng.IntN(4)]
				if !slices.ContainsFunc(c.VolumeClaimTemplates, func(t appstackv1.VolumeClaimTemplate) bool { return t.Name == name }) {
					c.VolumeClaimTemplates = append(c.VolumeClaimTemplates, appstackv1.VolumeClaimTemplate{Name: name, Size: resource.MustParse("1Gi")})
				}
			}
			fallthrough
		case appstackv1.KindDeployment:
			if rng.IntN(3) == 0 {
				c.Autoscaling = &appstackv1.AutoscalingSpec{MaxReplicas: 3}
			}
			if rng.IntN(3) == 0 {
				c.PodDisruptionBudget = &appstackv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromInt32(1))}
			}
		case appstackv1.KindCronJob:
			c.Schedule = "*/5 * * * *"
		}
		if svcs := render.Services(stack, &c); len(svcs) > 0 && len(svcs[0].Spec.Ports) > 0 && rng.IntN(3) == 0 {
			c.Ingress = &appstackv1.IngressSpec{Host: "shop.example.com"}
		}
		stack.Spec.Components = append(stack.Spec.Components, c)
	}
	for range rng.IntN(3) {
		stack.Spec.Configs = append(stack.Spec.Configs, appstackv1.Config{Name: randomName(rng)})
	}
	for range rng.IntN(3) {
		name := randomName(rng)
		// Often a claim's name of one of the StatefulSets, or nearly.
		if c := stack.Spec.Components[rng.IntN(len(stack.Spec.Components))]; len(c.VolumeClaimTemplates) > 0 && rng.IntN(2) == 0 {
			name = c.VolumeClaimTemplates[0].Name + "-" + c.Name + "-" + []string{"0", "12", "x"}[rng.IntN(3)]
		}
		stack.Spec.Volumes = append(stack.Spec.Volumes, appstackv1.StackVolume{Name: name, Size: resource.MustParse("1Gi")})
	}
	return stack
}

// oracleClash builds the stack's objects without Validate, adds the Pods and claims
// the StatefulSet controller would make for ordinals up to maxOrdinal and the Jobs
// the CronJob controller would, and returns the first kind/name that two of them
// share, or "".
func oracleClash(stack *appstackv1.AppStack) string {
	var objs []client.Object
	for i := range stack.Spec.Configs {
		objs = append(objs, render.ConfigMap(stack, &stack.Spec.Configs[i]))
	}
	for i := range stack.Spec.Volumes {
		objs = append(objs, render.PersistentVolumeClaim(stack, &stack.Spec.Volumes[i]))
	}
	for i := range stack.Spec.Components {
		c := &stack.Spec.Components[i]
		objs = append(objs, render.Workload(stack, c))
		for _, svc := range render.Services(stack, c) {
			objs = append(objs, svc)
		}
		if o := render.Ingress(stack, c); o != nil {
			objs = append(objs, o)
		}
		if o := render.HorizontalPodAutoscaler(stack, c); o != nil {
			objs = append(objs, o)
		}
		if o := render.PodDisruptionBudget(stack, c); o != nil {
			objs = append(objs, o)
		}
	}
	var made []client.Object
	for _, o := range objs {
		for n := range maxOrdinal + 1 {
			switch w := o.(type) {
			case *appsv1.StatefulSet:
				made = append(made, named("Pod", fmt.Sprintf("%s-%d", w.Name, n)))
				for _, t := range w.Spec.VolumeClaimTemplates {
					made = append(made, named("PersistentVolumeClaim", fmt.Sprintf("%s-%s-%d", t.Name, w.Name, n)))
				}
			case *batchv1.CronJob:
				made = append(made, named("Job", fmt.Sprintf("%s-%d", w.Name, n)))
			}
		}
	}
	if dups := duplicates(append(objs, made...)); len(dups) > 0 {
		return dups[0]
	}
	return ""
}

func named(kind, name string) client.Object {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{Kind: kind}, ObjectMeta: metav1.ObjectMeta{Name: name}}
}
