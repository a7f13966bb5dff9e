//go:build rules

// Package rules checks the chart's PrometheusRule with promtool (bin/promtool,
// built by hack/tools.sh from its Go module): `promtool check rules` on its groups
// as the chart renders them, and `promtool test rules` on the alert tests of
// alerts_test.yaml, whose input series are, for the test named N, N.series.yaml:
// the operator's metrics scraped from the local cluster while scenario N ran
// (hack/record-series.sh). Run with `make test-rules`.
package rules

import (
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/appstack-dev/appstack-operator/test/utils"
)

var root = filepath.Join("..", "..")

func tool(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(root, "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: run `hack/tools.sh %s`", p, name)
	}
	return p
}

// run runs a command in dir and returns its output; a failure ends the test.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	out, err := utils.Run(nil, dir, nil, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// renderRules writes the groups of the chart's PrometheusRule into dir/rules.yaml,
// the rule file format promtool reads.
func renderRules(t *testing.T, dir string) {
	t.Helper()
	helm, err := filepath.Abs(tool(t, "helm"))
	if err != nil {
		t.Fatal(err)
	}
	chart, err := filepath.Abs(filepath.Join(root, "charts", "appstack-operator"))
	if err != nil {
		t.Fatal(err)
	}
	out := run(t, dir, helm, "template", "appstack", chart, "--namespace", "appstack-system",
		"--set", "prometheusRule.enabled=true", "--show-only", "templates/prometheusrule.yaml")
	var rule struct {
		Kind string
		Spec struct {
			Groups []any `json:"groups"`
		}
	}
	if err := yaml.Unmarshal([]byte(out), &rule); err != nil {
		t.Fatal(err)
	}
	if rule.Kind != "PrometheusRule" || len(rule.Spec.Groups) == 0 {
		t.Fatalf("the chart renders no PrometheusRule groups:\n%s", out)
	}
	b, err := yaml.Marshal(map[string]any{"groups": rule.Spec.Groups})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRules(t *testing.T) {
	dir := t.TempDir()
	renderRules(t, dir)
	promtool, err := filepath.Abs(tool(t, "promtool"))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(run(t, dir, promtool, "check", "rules", "rules.yaml"))
}

// TestAlerts runs the alert tests of alerts_test.yaml against the rendered rules,
// each test's input_series being the series recorded for its name.
func TestAlerts(t *testing.T) {
	dir := t.TempDir()
	renderRules(t, dir)
	promtool, err := filepath.Abs(tool(t, "promtool"))
	if err != nil {
		t.Fatal(err)
	}
	var tests map[string]any
	b, err := os.ReadFile("alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &tests); err != nil {
		t.Fatal(err)
	}
	list, _ := tests["tests"].([]any)
	if len(list) == 0 {
		t.Fatal("alerts_test.yaml has no tests")
	}
	for _, tc := range list {
		m, ok := tc.(map[string]any)
		if !ok {
			t.Fatalf("a test of alerts_test.yaml is not a mapping: %v", tc)
		}
		name, _ := m["name"].(string)
		if _, ok := m["input_series"]; ok || name == "" {
			t.Fatalf("test %q of alerts_test.yaml: a test has a name and no input_series (they come from NAME.series.yaml)", name)
		}
		var series []any
		b, err := os.ReadFile(name + ".series.yaml")
		if err != nil {
			t.Fatalf("test %s: %v: record it with SCENARIO=%s hack/record-series.sh", name, err, name)
		}
		if err := yaml.Unmarshal(b, &series); err != nil || len(series) == 0 {
			t.Fatalf("%s.series.yaml holds no series (%v): record them with SCENARIO=%s hack/record-series.sh", name, err, name)
		}
		m["input_series"] = series
	}
	tests["rule_files"] = []string{"rules.yaml"}
	if b, err = yaml.Marshal(tests); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log(run(t, dir, promtool, "test", "rules", "alerts_test.yaml"))
}
