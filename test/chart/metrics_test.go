package chart

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	// The operator's metrics, registered with controller-runtime's registry as the
	// manager serves them, with controller-runtime's own (reconcile, work queue,
	// client, process, Go).
	_ "github.com/appstack-dev/appstack-operator/internal/controller"
)

// alertRule is one alerting rule of the chart's PrometheusRule.
type alertRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func prometheusRule(t *testing.T, args ...string) []alertRule {
	t.Helper()
	docs := render(t, append([]string{"--set", "prometheusRule.enabled=true"}, args...)...)["PrometheusRule"]
	if len(docs) != 1 {
		t.Fatalf("want one PrometheusRule with prometheusRule.enabled=true, got %d", len(docs))
	}
	var pr struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Groups []struct {
				Name  string      `json:"name"`
				Rules []alertRule `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(docs[0], &pr); err != nil {
		t.Fatal(err)
	}
	var rules []alertRule
	for _, g := range pr.Spec.Groups {
		rules = append(rules, g.Rules...)
	}
	return rules
}

func dashboardJSON(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "charts", "appstack-operator", "dashboards", "appstack-operator.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMonitoringIsOffByDefault(t *testing.T) {
	docs := render(t)
	if n := len(docs["PrometheusRule"]); n != 0 {
		t.Errorf("a PrometheusRule is rendered by default (%d); it needs the Prometheus Operator's CRD", n)
	}
	for _, doc := range docs["ConfigMap"] {
		if strings.Contains(string(doc), "grafana_dashboard") {
			t.Errorf("a dashboard ConfigMap is rendered by default:\n%s", doc)
		}
	}
}

func TestPrometheusRuleAlerts(t *testing.T) {
	rules := prometheusRule(t, "--set", "prometheusRule.alertLabels.team=platform")
	names := make([]string, 0, len(rules))
	for _, r := range rules {
		names = append(names, r.Alert)
	}
	want := []string{"AppStackNotReady", "AppStackDriftCorrectionStorm", "AppStackRolledBack",
		"AppStackOperatorDown", "AppStackOperatorNotReconciling"}
	if !slices.Equal(names, want) {
		t.Errorf("alerts %v, want %v", names, want)
	}
	runbooks, err := os.ReadFile(filepath.Join(root, "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.Labels["severity"] == "" || r.Labels["team"] != "platform" {
			t.Errorf("%s: labels %v, want a severity and prometheusRule.alertLabels", r.Alert, r.Labels)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("%s: no summary or description: %v", r.Alert, r.Annotations)
		}
		// The runbook is a section of docs/runbooks.md whose heading is the alert's name.
		url := r.Annotations["runbook_url"]
		anchor := strings.ToLower(r.Alert)
		if !strings.HasSuffix(url, "docs/runbooks.md#"+anchor) {
			t.Errorf("%s: runbook_url %q, want docs/runbooks.md#%s", r.Alert, url, anchor)
		}
		if !regexp.MustCompile(`(?m)^## ` + r.Alert + `$`).Match(runbooks) {
			t.Errorf("%s: docs/runbooks.md has no section \"## %s\"", r.Alert, r.Alert)
		}
	}
	rules = prometheusRule(t, "--set", "prometheusRule.runbookBaseURL=https://wiki.example.com/appstack")
	if got := rules[0].Annotations["runbook_url"]; got != "https://wiki.example.com/appstack#appstacknotready" {
		t.Errorf("runbook_url with prometheusRule.runbookBaseURL: %q", got)
	}
}

func TestDashboardConfigMap(t *testing.T) {
	for _, tc := range []struct {
		args              []string
		label, value, ns  string
		annotation, annov string
	}{
		{args: nil, label: "grafana_dashboard", value: "1", ns: "appstack-system"},
		{args: []string{"--set", "dashboard.label=grafana_dashboard_appstack", "--set", "dashboard.labelValue=yes",
			"--set", "dashboard.namespace=monitoring", "--set", "dashboard.annotations.grafana_folder=AppStack"},
			label: "grafana_dashboard_appstack", value: "yes", ns: "monitoring", annotation: "grafana_folder", annov: "AppStack"},
	} {
		docs := render(t, append([]string{"--set", "dashboard.enabled=true"}, tc.args...)...)
		var found *corev1.ConfigMap
		for _, doc := range docs["ConfigMap"] {
			cm := &corev1.ConfigMap{}
			if err := yaml.UnmarshalStrict(doc, cm); err != nil {
				t.Fatal(err)
			}
			if _, ok := cm.Data["appstack-operator.json"]; ok {
				found = cm
			}
		}
		if found == nil {
			t.Fatalf("%v: no ConfigMap holds the dashboard", tc.args)
		}
		if found.Labels[tc.label] != tc.value || found.Namespace != tc.ns ||
			(tc.annotation != "" && found.Annotations[tc.annotation] != tc.annov) {
			t.Errorf("%v: ConfigMap %s/%s labels %v annotations %v", tc.args, found.Namespace, found.Name,
				found.Labels, found.Annotations)
		}
		if found.Data["appstack-operator.json"] != strings.TrimSuffix(string(dashboardJSON(t)), "\n") {
			t.Errorf("the ConfigMap's dashboard differs from dashboards/appstack-operator.json")
		}
	}
}

// grafanaDashboard is what this test reads of a dashboard.
type grafanaDashboard struct {
	Title      string
	UID        string
	Panels     []grafanaPanel
	Templating struct {
		List []struct {
			Name       string
			Type       string
			Definition string
		}
	}
}

type grafanaPanel struct {
	ID      int
	Type    string
	Title   string
	GridPos struct{ H, W, X, Y int }
	Targets []struct {
		RefID string
		Expr  string
	}
	Panels []grafanaPanel
}

func TestDashboardIsValid(t *testing.T) {
	var d grafanaDashboard
	dec := json.NewDecoder(strings.NewReader(string(dashboardJSON(t))))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("dashboards/appstack-operator.json: %v", err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("the dashboard needs a title, a uid and panels: %q %q %d panels", d.Title, d.UID, len(d.Panels))
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v does not fit a 24-column row", p.Title, p.GridPos)
		}
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if strings.TrimSpace(q.Expr) == "" {
				t.Errorf("panel %q: query %s is empty", p.Title, q.RefID)
			}
		}
	}
}

// TestMonitoringReferencesOnlyExportedMetrics reads every metric name the
// dashboard's queries and the alerts' expressions use and checks that the
// operator exports it: registered with controller-runtime's registry, which the
// manager serves.
func TestMonitoringReferencesOnlyExportedMetrics(t *testing.T) {
	var d grafanaDashboard
	if err := json.Unmarshal(dashboardJSON(t), &d); err != nil {
		t.Fatal(err)
	}
	uses := map[string][]string{} // metric -> where
	add := func(where, expr string) {
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, n := range names {
			uses[n] = append(uses[n], where)
		}
	}
	var walk func([]grafanaPanel)
	walk = func(panels []grafanaPanel) {
		for _, p := range panels {
			for _, q := range p.Targets {
				add(fmt.Sprintf("dashboard panel %q", p.Title), q.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			add(fmt.Sprintf("dashboard variable %s", v.Name), v.Definition)
		}
	}
	for _, r := range prometheusRule(t) {
		add("alert "+r.Alert, r.Expr)
	}
	for name, where := range uses {
		if !exported(name) {
			t.Errorf("%s is not a metric the operator exports; used by %s", name, strings.Join(slices.Compact(where), ", "))
		}
	}
	// Every metric of the operator's own is on the dashboard or in an alert.
	for _, own := range []string{"appstack_components_ready", "appstack_components_total", "appstack_stack_ready",
		"appstack_stack_paused", "appstack_time_to_ready_seconds_bucket", "appstack_drift_corrections_total",
		"appstack_rollbacks_total", "appstack_reconcile_errors_total"} {
		if len(uses[own]) == 0 {
			t.Errorf("%s is neither on the dashboard nor in an alert", own)
		}
	}
}

// exported tells whether the metrics registry the manager serves holds a metric
// of this name (a histogram's _bucket, _sum and _count by the histogram's name).
// A vector without observations is not gathered, so the registry is asked through
// registration instead: registering a collector that describes a name already
// registered, with a different help, is refused.
func exported(name string) bool {
	for _, n := range []string{name, strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name,
		"_bucket"), "_sum"), "_count")} {
		probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: n, Help: "probe of the chart test"})
		err := ctrlmetrics.Registry.Register(probe)
		if err == nil {
			ctrlmetrics.Registry.Unregister(probe)
			continue
		}
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) || strings.Contains(err.Error(), "with the same fully-qualified name") {
			return true // the name is registered, with other labels or help
		}
	}
	return false
}

var (
	promqlStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promqlMatchers = regexp.MustCompile(`\{[^{}]*\}`)
	promqlRanges   = regexp.MustCompile(`\[[^\[\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promqlToken    = regexp.MustCompile(`\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z]*|[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	// Grafana's label_values(metric{...}, label): the label is not a metric.
	labelValues    = regexp.MustCompile(`label_values\(([^,()]*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)`)
	promqlKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "bool": true, "and": true, "or": true, "unless": true, "offset": true, "atan2": true,
		"inf": true, "nan": true, "start": true, "end": true}
)

// metricNames lists the metric names a PromQL expression (or a Grafana query over
// one) selects: what is left once strings, label matchers, ranges and grouping
// labels are taken out, and that is neither a function, an aggregation nor a
// keyword.
func metricNames(expr string) []string {
	expr = labelValues.ReplaceAllString(expr, "$1")
	expr = promqlStrings.ReplaceAllString(expr, `""`)
	expr = promqlMatchers.ReplaceAllString(expr, "")
	expr = promqlRanges.ReplaceAllString(expr, "")
	expr = promqlGrouping.ReplaceAllString(expr, "")
	var names []string
	for _, m := range promqlToken.FindAllStringSubmatch(expr, -1) {
		tok := m[0]
		if m[1] != "" || tok[0] >= '0' && tok[0] <= '9' || promqlKeywords[strings.ToLower(tok)] {
			continue // a function or aggregation, a number or duration, a keyword
		}
		if !slices.Contains(names, tok) {
			names = append(names, tok)
		}
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`max by (stack) (appstack_stack_ready) == 0 unless on (stack) max by (stack) (appstack_stack_paused) == 1`: {
			"appstack_stack_ready", "appstack_stack_paused"},
		`histogram_quantile(0.9, sum by (le, change) (rate(appstack_time_to_ready_seconds_bucket[30m])))`: {
			"appstack_time_to_ready_seconds_bucket"},
		`sum(rate(x_total{a="b}", c=~"d|(e)"}[$__rate_interval] offset 5m)) * 1e3 / on (a) group_left (c) y`: {
			"x_total", "y"},
		`absent(controller_runtime_reconcile_total{controller="appstack"})`: {"controller_runtime_reconcile_total"},
		`label_values(appstack_stack_ready, stack)`:                         {"appstack_stack_ready"},
		`count(up == 1) or vector(0)`:                                       {"up"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %v, want %v", expr, got, want)
		}
	}
	if exported("up") || exported("appstack_no_such_metric_total") {
		t.Error("up (Prometheus's own) and an unknown name are not exported by the operator")
	}
	for _, name := range []string{"appstack_rollbacks_total", "appstack_time_to_ready_seconds_count",
		"controller_runtime_reconcile_total", "workqueue_depth", "process_resident_memory_bytes", "go_goroutines"} {
		if !exported(name) {
			t.Errorf("%s is exported by the operator", name)
		}
	}
}
