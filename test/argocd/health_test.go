// Package argocd tests the Argo CD health rules of config/argocd the way Argo CD
// tests its own (resource_customizations/<group>/<Kind>/health.lua with a
// health_test.yaml of input objects and the health each must get), run by
// gopher-lua, the Lua engine Argo CD uses, with the libraries Argo CD gives a rule
// configured in argocd-cm. The inputs are AppStacks recorded from live stacks by
// hack/record-argocd-cases.sh (docs/gitops.md).
package argocd

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var rules = filepath.Join("..", "..", "config", "argocd")

// healthTest is one entry of a health_test.yaml.
type healthTest struct {
	HealthStatus healthStatus `json:"healthStatus"`
	InputPath    string       `json:"inputPath"`
}

// rule is one health.lua and its tests.
type rule struct {
	dir    string // <group>/<Kind>, under config/argocd
	script string
	tests  []healthTest
}

// readRules finds every health.lua under config/argocd with its health_test.yaml.
func readRules(t *testing.T) []rule {
	t.Helper()
	var found []rule
	err := filepath.WalkDir(rules, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "health.lua" {
			return err
		}
		dir := filepath.Dir(path)
		script, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
		if err != nil {
			return err
		}
		var file struct {
			Tests []healthTest `json:"tests"`
		}
		if err := yaml.UnmarshalStrict(b, &file); err != nil {
			t.Fatalf("%s/health_test.yaml: %v", dir, err)
		}
		rel, _ := filepath.Rel(rules, dir)
		found = append(found, rule{dir: filepath.ToSlash(rel), script: string(script), tests: file.Tests})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 {
		t.Fatalf("no health.lua under %s", rules)
	}
	return found
}

func readObject(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{}
	if err := yaml.Unmarshal(b, &obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obj
}

func TestHealthRules(t *testing.T) {
	for _, r := range readRules(t) {
		for _, tc := range r.tests {
			t.Run(r.dir+"/"+tc.InputPath, func(t *testing.T) {
				obj := readObject(t, filepath.Join(rules, r.dir, tc.InputPath))
				got, err := runHealth(r.script, obj)
				if err != nil {
					t.Fatalf("%s/health.lua on %s: %v", r.dir, tc.InputPath, err)
				}
				if got != tc.HealthStatus {
					t.Errorf("%s/health.lua on %s:\n got %+v\nwant %+v", r.dir, tc.InputPath, got, tc.HealthStatus)
				}
			})
		}
	}
}

// TestEveryInputIsTested: a file in testdata that no test names is a recorded state
// nobody checks.
func TestEveryInputIsTested(t *testing.T) {
	for _, r := range readRules(t) {
		named := make([]string, 0, len(r.tests))
		for _, tc := range r.tests {
			named = append(named, filepath.ToSlash(tc.InputPath))
		}
		files, err := filepath.Glob(filepath.Join(rules, r.dir, "testdata", "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if rel := "testdata/" + filepath.Base(f); !slices.Contains(named, rel) {
				t.Errorf("%s/%s is in no test of %s/health_test.yaml", r.dir, rel, r.dir)
			}
		}
	}
}

// TestRunnerOpensOnlyArgoCDsLibraries: the runner refuses what Argo CD refuses a
// rule in argocd-cm (the string library among others), so a rule that passes here
// runs there.
func TestRunnerOpensOnlyArgoCDsLibraries(t *testing.T) {
	_, err := runHealth(`return {status = string.format("%s", "Healthy")}`, map[string]any{})
	if err == nil || !strings.Contains(err.Error(), "string") {
		t.Errorf("string.format ran (err %v); Argo CD opens only package, base, table and a reduced os for argocd-cm rules", err)
	}
}

// TestRunnerTurnsAStatusArgoCDDoesNotKnowIntoUnknown, as Argo CD does.
func TestRunnerTurnsAStatusArgoCDDoesNotKnowIntoUnknown(t *testing.T) {
	got, err := runHealth(`return {status = "Fine"}`, map[string]any{})
	if err != nil || got.Status != "Unknown" || got.Message != invalidHealthStatus {
		t.Errorf("a status Argo CD does not know gave %+v, %v; want Unknown %q", got, err, invalidHealthStatus)
	}
}
