package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/graph"
)

var guestbook = filepath.Join("..", "..", "config", "samples", "apps_v1alpha1_appstack_guestbook.yaml")

func runGraphCommand(stdin string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := newGraphCommand(&out)
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.Execute()
	return out.String(), err
}

// Offline, the plugin prints exactly the graph writers' golden files for the
// sample (read, validated and defaulted as render reads it); dot is the default.
func TestGraphFromFile(t *testing.T) {
	for format, ext := range map[string]string{"": "dot", "dot": "dot", "mermaid": "mmd", "svg": "svg"} {
		args := []string{"-f", guestbook}
		if format != "" {
			args = append(args, "-o", format)
		}
		got, err := runGraphCommand("", args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		want, err := os.ReadFile(filepath.Join("..", "..", "internal", "graph", "testdata", "guestbook."+ext))
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%v: the plugin's output differs from internal/graph/testdata/guestbook.%s:\n%s", args, ext, got)
		}
	}
	out, err := runGraphCommand("", "guestbook", "-f", guestbook, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var g graph.Graph
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		t.Fatalf("-o json printed what is not a graph: %v\n%s", err, out)
	}
	if g.Stack != "guestbook" || len(g.Nodes) != 5 || len(g.Edges) != 5 ||
		g.Edges[2] != (graph.Edge{From: "component/redis-leader", To: "component/redis-follower", Type: graph.EdgeDependsOn}) {
		t.Errorf("-o json: %s", out)
	}
}

// Live, the graph carries the status: a failing component is drawn red with its
// reason. A stack that is not there is named in the error.
func TestGraphFromCluster(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	stack.Spec.Components = []appstackv1.Component{{Name: "web", Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}}}
	stack.Status.Components = []appstackv1.ComponentStatus{{Name: "web", Phase: appstackv1.PhaseFailed,
		Replicas: 2, Reason: "CrashLoopBackOff", Message: "container app keeps crashing"}}
	c := statusClient(stack)
	got, err := stackFromCluster(context.Background(), c, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeGraph(&out, graph.Build(got), "dot"); err != nil {
		t.Fatal(err)
	}
	fill, stroke := graph.PhaseColor("Failed")
	want := `"component/web" [label="web\nDeployment 0/2\nCrashLoopBackOff", tooltip="component web\nkind: Deployment\n` +
		`phase: Failed\nreason: CrashLoopBackOff\nmessage: container app keeps crashing\nreplicas: 0/2 ready\nimages: nginx:1.27", ` +
		`fillcolor="` + fill + `", color="` + stroke + `"];`
	if !strings.Contains(out.String(), want) {
		t.Errorf("dot:\n%s\nwant a line\n%s", out.String(), want)
	}
	if _, err := stackFromCluster(context.Background(), c, "nope"); err == nil ||
		!strings.Contains(err.Error(), `get stack nope: appstacks.apps.appstack.dev "nope" not found (kubectl get stacks lists them; -f FILE draws one`) {
		t.Errorf("error %v, want one naming the missing stack", err)
	}
}

// Each refusal names the flag or the input at fault and what to give instead,
// and prints nothing.
func TestGraphRefuses(t *testing.T) {
	two := "apiVersion: apps.appstack.dev/v1alpha1\nkind: AppStack\nmetadata: {name: a}\n" +
		"spec: {components: [{name: c, containers: [{name: c, image: i}]}]}\n---\n" +
		"apiVersion: apps.appstack.dev/v1alpha1\nkind: AppStack\nmetadata: {name: b}\n" +
		"spec: {components: [{name: c, dependsOn: [c], containers: [{name: c, image: i}]}]}\n"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"neither a name nor a file", nil, "no stack: give a STACK name to read it from the cluster, or -f FILE"},
		{"an unknown format", []string{"shop", "-o", "png"}, "-o png: the formats are dot, mermaid, svg, json (default dot)"},
		{"two stacks, no name", []string{"-f", "-"}, "<stdin> holds 2 AppStacks (a, b): name the one to draw, e.g. kubectl appstack graph a -f -"},
		{"a name the file lacks", []string{"c", "-f", "-"}, "<stdin> holds no AppStack c; it holds a, b: give one of those names"},
		{"an invalid stack", []string{"b", "-f", "-"}, `invalid input, nothing drawn:` + "\n" +
			`  <stdin>: AppStack "b": spec.components[0]: Invalid value: dependsOn: a component cannot depend on itself`},
		{"too many names", []string{"a", "b"}, "accepts at most 1 arg(s), received 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runGraphCommand(two, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if out != "" {
				t.Errorf("printed %q", out)
			}
		})
	}
	// The valid one of the two is drawn.
	if out, err := runGraphCommand(two, "a", "-f", "-", "-o", "mermaid"); err != nil || !strings.Contains(out, `component_c["c<br/>Deployment"]`) {
		t.Errorf("graph a -f -: %v\n%s", err, out)
	}
}
