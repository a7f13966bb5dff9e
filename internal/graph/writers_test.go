package graph

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current writers")

// sample is the guestbook sample, the stack of config/samples with dependsOn,
// stack volumes and configs.
func sample(t testing.TB) *appstackv1.AppStack {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "apps_v1alpha1_appstack_guestbook.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return stackFrom(t, string(b))
}

// live is the sample as the cluster could report it: the leader Ready on its
// bound claim, the followers Ready, the frontend failing to pull its image.
func live(t testing.TB) *appstackv1.AppStack {
	stack := sample(t)
	stack.Status = appstackv1.AppStackStatus{
		Components: []appstackv1.ComponentStatus{
			{Name: "redis-leader", Phase: appstackv1.PhaseReady, Replicas: 1, ReadyReplicas: 1,
				Service: &appstackv1.ServiceStatus{ClusterIP: "None", URL: "redis-leader.guestbook.svc.cluster.local:6379"}},
			{Name: "redis-follower", Phase: appstackv1.PhaseReady, Replicas: 2, ReadyReplicas: 2,
				Service: &appstackv1.ServiceStatus{ClusterIP: "10.96.14.3", URL: "redis-follower.guestbook.svc.cluster.local:6379"}},
			{Name: "frontend", Phase: appstackv1.PhaseFailed, Replicas: 3, ReadyReplicas: 0, Reason: "ImagePullBackOff",
				Message: `pod frontend-6d4b9-x2x9k: container php-redis: image "gb-frontend:v5" cannot be pulled: not found`,
				Service: &appstackv1.ServiceStatus{ClusterIP: "10.96.14.9", URL: "frontend.guestbook.svc.cluster.local:80"}},
		},
		Volumes: []appstackv1.VolumeStatus{{Name: "redis-data", Phase: "Bound", Capacity: "1Gi"}},
	}
	return stack
}

// The writers' output for the sample, offline and live, is exactly the reviewed
// files in testdata/.
func TestWritersGolden(t *testing.T) {
	for name, stack := range map[string]*appstackv1.AppStack{"guestbook": sample(t), "guestbook-live": live(t)} {
		g := Build(stack)
		svg, err := SVG(g)
		if err != nil {
			t.Fatal(err)
		}
		for ext, got := range map[string]string{"dot": DOT(g), "mmd": Mermaid(g), "svg": string(svg)} {
			golden(t, filepath.Join("testdata", name+"."+ext), got)
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./internal/graph -update` to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs; if the change is intended, run `go test ./internal/graph -update` and review the diff.\n"+
			"--- got\n%s", path, got)
	}
}

// A name, reason or message with characters the formats give a meaning to is
// written as text, not markup.
func TestWritersEscape(t *testing.T) {
	g := Graph{Stack: `a"b`, Namespace: "ns", Nodes: []Node{
		{ID: "component/end", Type: NodeComponent, Name: "end", Kind: "Deployment", Phase: "Failed",
			Reason: `Bad"<b>#1&\N`, Message: "line one\nline <two>", Replicas: 2, ReadyReplicas: 1},
		{ID: "component/x.y", Type: NodeComponent, Name: "x.y", Kind: "Pod"},
	}, Edges: []Edge{{From: "component/end", To: "component/x.y", Type: EdgeDependsOn}}}

	dot := DOT(g)
	for _, want := range []string{`digraph "a\"b" {`, `"component/end" [label="end\nDeployment 1/2\nBad\"<b>#1&\\N"`,
		`tooltip="component end\nkind: Deployment\nphase: Failed\nreason: Bad\"<b>#1&\\N\nmessage: line one\nline <two>`,
		`"component/end" -> "component/x.y";`} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %s:\n%s", want, dot)
		}
	}

	mmd := Mermaid(g)
	for _, want := range []string{`component_end["end<br/>Deployment 1/2<br/>Bad&quot;&lt;b&gt;&num;1&amp;\N"]`,
		`component_x_x2ey["x.y<br/>Pod"]`, "component_end --> component_x_x2ey"} {
		if !strings.Contains(mmd, want) {
			t.Errorf("Mermaid lacks %s:\n%s", want, mmd)
		}
	}

	svg, err := SVG(g)
	if err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, svg)
	if got := doc.nodes["component/end"]; got.title != "component end\nkind: Deployment\nphase: Failed\n"+
		"reason: Bad\"<b>#1&\\N\nmessage: line one\nline <two>\nreplicas: 1/2 ready" || got.texts[2] != `Bad"<b>#1&\N` {
		t.Errorf("the SVG's node reads %+v", got)
	}
}

// Each phase has its colors; a phase the palette does not know, and no phase,
// are neutral; a claim's phases read as the component phases they mean.
func TestPhaseColor(t *testing.T) {
	pairs := map[string]string{}
	for _, p := range []string{"Ready", "Progressing", "Waiting", "Failed", "Suspended", ""} {
		fill, stroke := PhaseColor(p)
		pairs[p] = fill + stroke
	}
	if pairs["Progressing"] != pairs["Waiting"] {
		t.Errorf("Progressing %s and Waiting %s differ, want one amber", pairs["Progressing"], pairs["Waiting"])
	}
	seen := map[string]string{}
	for _, p := range []string{"Ready", "Waiting", "Failed", "Suspended", ""} {
		if other, ok := seen[pairs[p]]; ok {
			t.Errorf("%q and %q have the same colors %s", p, other, pairs[p])
		}
		seen[pairs[p]] = p
	}
	for claim, component := range map[string]string{"Bound": "Ready", "Pending": "Waiting", "Lost": "Failed", "Exploded": ""} {
		f1, s1 := PhaseColor(claim)
		f2, s2 := PhaseColor(component)
		if f1 != f2 || s1 != s2 {
			t.Errorf("%s is %s/%s, want %q's %s/%s", claim, f1, s1, component, f2, s2)
		}
	}
}

// The SVG is well-formed XML: a node group per node with its phase, a <title> and
// its lines; an edge per edge, dashed exactly for uses edges, each with an
// arrowhead.
func TestSVGStructure(t *testing.T) {
	g := Build(live(t))
	b, err := SVG(g)
	if err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, b)
	if len(doc.nodes) != len(g.Nodes) || len(doc.edges) != len(g.Edges) {
		t.Fatalf("%d node groups and %d edges, want %d and %d", len(doc.nodes), len(doc.edges), len(g.Nodes), len(g.Edges))
	}
	for _, n := range g.Nodes {
		got := doc.nodes[n.ID]
		fill, _ := PhaseColor(n.Phase)
		if got.phase != n.Phase || got.fill != fill || strings.SplitN(got.title, "\n", 2)[0] != fmt.Sprintf("%s %s", n.Type, n.Name) ||
			strings.Join(got.texts, "|") != strings.Join(lines(n), "|") {
			t.Errorf("%s drawn as %+v", n.ID, got)
		}
	}
	for _, e := range doc.edges {
		if (e.dash != "") != (e.typ == string(EdgeUses)) || e.marker != "url(#arrow)" {
			t.Errorf("edge %+v: want dashed exactly when uses, and an arrowhead", e)
		}
	}
}

type svgNode struct {
	phase, title, fill string
	texts              []string
}

type svgEdge struct{ typ, dash, marker string }

type svgDoc struct {
	nodes map[string]*svgNode
	edges []svgEdge
}

// parseSVG reads the groups the SVG writer draws, failing on XML that is not
// well-formed.
func parseSVG(t *testing.T, b []byte) svgDoc {
	t.Helper()
	doc := svgDoc{nodes: map[string]*svgNode{}}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var node *svgNode
	var edgeType, in string
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return doc
			}
			t.Fatalf("the SVG is not well-formed: %v\n%s", err, b)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attr := func(name string) string {
				for _, a := range el.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			in = el.Name.Local
			switch {
			case in == "g" && attr("class") == "node":
				node = &svgNode{phase: attr("data-phase")}
				doc.nodes[attr("data-node")] = node
			case in == "g" && attr("class") == "edge":
				node, edgeType = nil, attr("data-type")
			case in == "rect" && node != nil:
				node.fill = attr("fill")
			case in == "path" && edgeType != "":
				doc.edges = append(doc.edges, svgEdge{typ: edgeType, dash: attr("stroke-dasharray"), marker: attr("marker-end")})
				edgeType = ""
			}
		case xml.CharData:
			switch {
			case node != nil && in == "title":
				node.title += string(el)
			case node != nil && in == "text":
				node.texts = append(node.texts, string(el))
			}
		case xml.EndElement:
			in = ""
		}
	}
}
