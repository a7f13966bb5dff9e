package render_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
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

func container(name string, ports ...int32) corev1.Container {
	c := corev1.Container{Name: name, Image: "img"}
	for _, p := range ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: p})
	}
	return c
}

// FuzzRender feeds arbitrary specs to the renderer: it must never panic, and must
// render the same spec to the same bytes every time. The seeds are the samples.
//
//	go test ./internal/render -run '^$' -fuzz FuzzRender -fuzztime 30s
func FuzzRender(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "apps_*.yaml"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		js, err := yaml.YAMLToJSON(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		stack := &appstackv1.AppStack{}
		if err := json.Unmarshal(data, stack); err != nil {
			return
		}
		first, err := render.Render(stack)
		if err != nil {
			return // refused with a field error: fine
		}
		a, err := manifest.YAML(first.Objects())
		if err != nil {
			t.Fatalf("render produced objects that do not serialize: %v", err)
		}
		again, err := render.Render(stack)
		if err != nil {
			t.Fatalf("second render failed: %v", err)
		}
		b, _ := manifest.YAML(again.Objects())
		if !bytes.Equal(a, b) {
			t.Fatalf("render is not deterministic:\n%s\n---- vs ----\n%s", a, b)
		}
	})
}
