package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appstack-dev/appstack-operator/test/cases"
)

func TestRenderSamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "apps_*.yaml"))
	live, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "real-node", "apps_*.yaml"))
	files = append(files, live...)
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

// A stack two of whose parts render one object passes the CRD schema, so only the
// renderer's check stops it: `kubectl appstack render` prints nothing, exits 1 and
// names both fields.
func TestRenderRefusesCollidingNames(t *testing.T) {
	if len(cases.Unrenderable) == 0 {
		t.Fatal("no cases")
	}
	for _, tc := range cases.Unrenderable {
		t.Run(tc.Name, func(t *testing.T) {
			doc := "apiVersion: apps.appstack.dev/v1alpha1\nkind: AppStack\nmetadata: {name: shop}\nspec:\n  " +
				strings.ReplaceAll(tc.Spec, "\n", "\n  ") + "\n"
			cmd := exec.Command(os.Args[0], "render", "-f", "-")
			cmd.Env = append(os.Environ(), envRunMain+"=1")
			cmd.Stdin = strings.NewReader(doc)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("got %v, want exit status 1; stderr:\n%s", err, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("printed objects for a refused stack:\n%s", stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.Want) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", stderr.String(), tc.Want)
			}
		})
	}
}
