package graph

import (
	"encoding/json"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// Positioned is a graph laid out: each node with its center and size, each edge
// with the points of its line, from the border of From to the border of To. Nodes
// and Edges are in the graph's order; Width and Height are the drawing's.
type Positioned struct {
	Stack     string     `json:"stack"`
	Namespace string     `json:"namespace"`
	Width     float64    `json:"width"`
	Height    float64    `json:"height"`
	Nodes     []NodeBox  `json:"nodes"`
	Edges     []EdgeLine `json:"edges"`
}

// NodeBox is a node with its center (X, Y) and size.
type NodeBox struct {
	Node   `json:",inline"`
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// EdgeLine is an edge with the points of its line.
type EdgeLine struct {
	Edge   `json:",inline"`
	Points []Point `json:"points"`
}

// Point is a position in the drawing, y growing downwards.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// The box of a node is sized from its text (lines): a name line and smaller
// detail lines. There is no font to measure in Go, so a character is taken at
// the average advance of a sans-serif face, a little wide so text fits.
const (
	nameFontSize   = 13.0
	detailFontSize = 11.0
	charAdvance    = 0.62 // of the font size
	lineGap        = 5.0
	padX, padY     = 12.0, 8.0
	minNodeWidth   = 90.0
)

// layoutOptions are dagre's graph options: top-down, and room between ranks and
// nodes for the arrows (docs/dashboard.md, "Layout").
const layoutOptions = `{"rankdir": "TB", "nodesep": 40, "ranksep": 50, "edgesep": 20, "marginx": 16, "marginy": 16}`

// nodeSize is the size of a node's box for its text.
func nodeSize(n Node) (w, h float64) {
	text := lines(n)
	w = minNodeWidth
	for i, l := range text {
		size := detailFontSize
		if i == 0 {
			size = nameFontSize
		}
		w = max(w, float64(utf8.RuneCountInString(l))*size*charAdvance+2*padX)
		h += size + lineGap
	}
	return w, h - lineGap + 2*padY
}

// driver lays out the graph given as JSON with dagre and returns the positions
// as JSON. structuredClone is a browser global dagre calls (on its lists of
// node names) that goja does not have; a deep copy of plain data stands in.
const driver = `
function structuredClone(v) {
  if (Array.isArray(v)) return v.map(structuredClone);
  if (v !== null && typeof v === "object") {
    var o = {};
    Object.keys(v).forEach(function (k) { o[k] = structuredClone(v[k]); });
    return o;
  }
  return v;
}
function appstackLayout(input, options) {
  var spec = JSON.parse(input);
  var g = new dagre.graphlib.Graph();
  g.setGraph(JSON.parse(options));
  g.setDefaultEdgeLabel(function () { return {}; });
  spec.nodes.forEach(function (n) { g.setNode(n.id, {width: n.width, height: n.height}); });
  spec.edges.forEach(function (e) { g.setEdge(e.from, e.to); });
  dagre.layout(g);
  return JSON.stringify({
    width: g.graph().width,
    height: g.graph().height,
    nodes: spec.nodes.map(function (n) { var v = g.node(n.id); return {x: v.x, y: v.y}; }),
    edges: spec.edges.map(function (e) { return g.edge(e.from, e.to).points; })
  });
}
`

var (
	compileOnce sync.Once
	programs    []*goja.Program
	compileErr  error
)

// compiled are DagreJS and the driver, compiled once per process: compiling
// dagre takes tens of milliseconds, running the program in a new runtime a few.
func compiled() ([]*goja.Program, error) {
	compileOnce.Do(func() {
		for _, src := range []struct{ name, code string }{{"dagre.min.js", string(DagreJS)}, {"driver.js", driver}} {
			// dagre.min.js names a source map that is not vendored: do not look for it.
			ast, err := parser.ParseFile(nil, src.name, src.code, 0, parser.WithDisableSourceMaps)
			if err != nil {
				compileErr = fmt.Errorf("parse %s: %w", src.name, err)
				return
			}
			p, err := goja.CompileAST(ast, false)
			if err != nil {
				compileErr = fmt.Errorf("compile %s: %w", src.name, err)
				return
			}
			programs = append(programs, p)
		}
	})
	return programs, compileErr
}

type layoutNode struct {
	ID     string  `json:"id"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

type layoutResult struct {
	Width  float64   `json:"width"`
	Height float64   `json:"height"`
	Nodes  []Point   `json:"nodes"`
	Edges  [][]Point `json:"edges"`
}

// Layout places the graph's nodes top-down along its edges with dagre
// (DagreJS, the file the dashboard's page runs), in a JavaScript runtime of its
// own: goja runtimes are not safe for concurrent use, so Layout is.
func Layout(g Graph) (*Positioned, error) {
	progs, err := compiled()
	if err != nil {
		return nil, err
	}
	in := struct {
		Nodes []layoutNode `json:"nodes"`
		Edges []Edge       `json:"edges"`
	}{Nodes: make([]layoutNode, len(g.Nodes)), Edges: g.Edges}
	out := &Positioned{Stack: g.Stack, Namespace: g.Namespace, Nodes: make([]NodeBox, len(g.Nodes)), Edges: make([]EdgeLine, len(g.Edges))}
	for i, n := range g.Nodes {
		w, h := nodeSize(n)
		in.Nodes[i] = layoutNode{ID: n.ID, Width: w, Height: h}
		out.Nodes[i] = NodeBox{Node: n, Width: w, Height: h}
	}
	input, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	res, err := runDagre(progs, string(input))
	if err != nil {
		return nil, fmt.Errorf("lay out the graph of stack %s with dagre: %w", g.Stack, err)
	}
	if len(res.Nodes) != len(g.Nodes) || len(res.Edges) != len(g.Edges) {
		return nil, fmt.Errorf("lay out the graph of stack %s with dagre: %d nodes and %d edges placed of %d and %d",
			g.Stack, len(res.Nodes), len(res.Edges), len(g.Nodes), len(g.Edges))
	}
	out.Width, out.Height = res.Width, res.Height
	for i, p := range res.Nodes {
		out.Nodes[i].X, out.Nodes[i].Y = p.X, p.Y
	}
	for i, pts := range res.Edges {
		out.Edges[i] = EdgeLine{Edge: g.Edges[i], Points: pts}
	}
	return out, nil
}

func runDagre(progs []*goja.Program, input string) (*layoutResult, error) {
	vm := goja.New()
	for _, p := range progs {
		if _, err := vm.RunProgram(p); err != nil {
			return nil, err
		}
	}
	fn, ok := goja.AssertFunction(vm.Get("appstackLayout"))
	if !ok {
		return nil, fmt.Errorf("the driver defines no function appstackLayout")
	}
	v, err := fn(goja.Undefined(), vm.ToValue(input), vm.ToValue(layoutOptions))
	if err != nil {
		return nil, err
	}
	var res layoutResult
	if err := json.Unmarshal([]byte(v.String()), &res); err != nil {
		return nil, fmt.Errorf("read dagre's result: %w", err)
	}
	return &res, nil
}
