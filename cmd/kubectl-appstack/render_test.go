package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRenderSamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "apps_*.yaml"))
	if len(files) == 0 {
		t.Fatal("no samples")
	}
	for _, f := range files {
		var out bytes.Buffer
		if err := runRender(context.Background(), []string{f}, nil, &out); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// The plugin prints exactly the renderer's golden output: the CRD's defaults,
		// which it applies first, and the renderer's own defaults agree.
		golden, err := os.ReadFile(filepath.Join("..", "..", "internal", "render", "testdata",
			strings.TrimSuffix(filepath.Base(f), ".yaml")+".golden.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if out.String() != string(golden) {
			t.Errorf("%s: the plugin's output differs from the golden file:\n%s", f, out.String())
		}
	}
}

func TestRenderRefusesWithTheField(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"cycle", `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: shop}
spec:
  components:
  - {name: a, dependsOn: [b], containers: [{name: c, image: i}]}
  - {name: b, dependsOn: [a], containers: [{name: c, image: i}]}
`, "spec.components[0].dependsOn: Invalid value: [\"b\"]: dependency cycle: a → b → a"},
		{"unknown field", `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: shop}
spec:
  components:
  - {name: a, replica: 2, containers: [{name: c, image: i}]}
`, "spec.components[0].replica: Forbidden: unknown field"},
		{"not an AppStack", `apiVersion: v1
kind: ConfigMap
metadata: {name: x}
`, "document 1 is v1 ConfigMap, not an apps.appstack.dev/v1alpha1 AppStack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runRender(context.Background(), []string{"-"}, strings.NewReader(tt.doc), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Fatalf("printed objects for an invalid stack:\n%s", out.String())
			}
		})
	}
}
