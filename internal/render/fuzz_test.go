package render_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/manifest"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

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
