package schema_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"github.com/appstack-dev/appstack-operator/internal/schema"
	"github.com/appstack-dev/appstack-operator/test/cases"
)

func load(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(js, &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// The offline validator refuses every case the apiserver refuses, with the same text.
func TestInvalidStacksOffline(t *testing.T) {
	v, err := schema.ForAppStack()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases.InvalidStacks {
		t.Run(tc.Name, func(t *testing.T) {
			name := tc.StackName
			if name == "" {
				name = "invalid"
			}
			spec := load(t, []byte(tc.Spec))
			obj := map[string]any{"apiVersion": "apps.appstack.dev/v1alpha1", "kind": "AppStack",
				"metadata": map[string]any{"name": name}, "spec": spec}
			errs := v.Validate(context.Background(), obj)
			if len(errs) == 0 {
				t.Fatalf("accepted; want an error containing %q", tc.Want)
			}
			if got := errs.ToAggregate().Error(); !strings.Contains(got, tc.Want) {
				t.Fatalf("got %q\nwant it to contain %q", got, tc.Want)
			}
		})
	}
}

func TestSamplesAreValidOffline(t *testing.T) {
	v, err := schema.ForAppStack()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "apps_*.yaml"))
	if len(files) == 0 {
		t.Fatal("no samples")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if errs := v.Validate(context.Background(), load(t, b)); len(errs) > 0 {
			t.Errorf("%s: %v", f, errs.ToAggregate())
		}
	}
}
