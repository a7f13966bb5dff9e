package graph

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Every edge runs downwards: a dependency (and a volume or config) sits above
// what depends on it; no two boxes overlap; each box is sized for its text and
// inside the drawing; each edge starts at its From box and ends at its To box.
func TestLayout(t *testing.T) {
	for name, stack := range map[string]*appstackv1.AppStack{"guestbook": live(t), "ten": tenComponents()} {
		t.Run(name, func(t *testing.T) {
			g := Build(stack)
			p, err := Layout(g)
			if err != nil {
				t.Fatal(err)
			}
			checkLayout(t, g, p)
		})
	}
}

func checkLayout(t *testing.T, g Graph, p *Positioned) {
	t.Helper()
	box := map[string]NodeBox{}
	for i, n := range p.Nodes {
		if n.ID != g.Nodes[i].ID {
			t.Fatalf("node %d is %s, want %s (the graph's order)", i, n.ID, g.Nodes[i].ID)
		}
		w, h := nodeSize(n.Node)
		if n.Width != w || n.Height != h || n.X-w/2 < 0 || n.Y-h/2 < 0 || n.X+w/2 > p.Width || n.Y+h/2 > p.Height {
			t.Errorf("%s at (%v,%v) size %vx%v in a %vx%v drawing; want size %vx%v inside it",
				n.ID, n.X, n.Y, n.Width, n.Height, p.Width, p.Height, w, h)
		}
		box[n.ID] = n
	}
	for i, a := range p.Nodes {
		for _, b := range p.Nodes[i+1:] {
			if a.X-a.Width/2 < b.X+b.Width/2 && b.X-b.Width/2 < a.X+a.Width/2 &&
				a.Y-a.Height/2 < b.Y+b.Height/2 && b.Y-b.Height/2 < a.Y+a.Height/2 {
				t.Errorf("%s %+v and %s %+v overlap", a.ID, a, b.ID, b)
			}
		}
	}
	for _, e := range p.Edges {
		from, to := box[e.From], box[e.To]
		if from.Y+from.Height/2 > to.Y-to.Height/2 {
			t.Errorf("%s (bottom %v) is not above %s (top %v)", e.From, from.Y+from.Height/2, e.To, to.Y-to.Height/2)
		}
		if len(e.Points) < 2 || !onBorder(from, e.Points[0]) || !onBorder(to, e.Points[len(e.Points)-1]) {
			t.Errorf("edge %s → %s runs %v, want from one box's border to the other's", e.From, e.To, e.Points)
		}
	}
}

func onBorder(n NodeBox, p Point) bool {
	const eps = 0.5
	inX := p.X >= n.X-n.Width/2-eps && p.X <= n.X+n.Width/2+eps
	inY := p.Y >= n.Y-n.Height/2-eps && p.Y <= n.Y+n.Height/2+eps
	nearX := abs(p.X-(n.X-n.Width/2)) < eps || abs(p.X-(n.X+n.Width/2)) < eps
	nearY := abs(p.Y-(n.Y-n.Height/2)) < eps || abs(p.Y-(n.Y+n.Height/2)) < eps
	return inX && inY && (nearX || nearY)
}

func abs(v float64) float64 { return max(v, -v) }

// Layout runs in a runtime of its own per call: calls at once give the same
// result as one alone (run with -race to see no runtime is shared).
func TestLayoutConcurrent(t *testing.T) {
	g := Build(tenComponents())
	want, err := Layout(g)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			got, err := Layout(g)
			if err == nil && !reflect.DeepEqual(got, want) {
				err = fmt.Errorf("a concurrent layout differs from the first")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// tenComponents is a stack of ten components in layers (each depends on one or
// two of the layer above), with a volume and a config.
func tenComponents() *appstackv1.AppStack {
	stack := &appstackv1.AppStack{}
	stack.Name = "ten"
	stack.Spec.Configs = []appstackv1.Config{{Name: "settings"}}
	stack.Spec.Volumes = []appstackv1.StackVolume{{Name: "data"}}
	for i := range 10 {
		c := appstackv1.Component{Name: fmt.Sprintf("component-%d", i)}
		c.Containers = []corev1.Container{{Name: "app", Image: fmt.Sprintf("registry.example/app-%d:1.0", i)}}
		if i > 0 {
			c.DependsOn = []string{fmt.Sprintf("component-%d", (i-1)/2)}
		}
		if i > 2 && i-2 != (i-1)/2 {
			c.DependsOn = append(c.DependsOn, fmt.Sprintf("component-%d", i-2))
		}
		switch i {
		case 0:
			c.Volumes = []appstackv1.ComponentVolume{{Name: "d", PersistentVolume: "data"}}
		case 4, 7:
			c.Volumes = []appstackv1.ComponentVolume{{Name: "s", Config: "settings"}}
		}
		stack.Spec.Components = append(stack.Spec.Components, c)
	}
	return stack
}

// BenchmarkLayout lays out the ten-component stack (docs/dashboard.md gives the
// figure).
func BenchmarkLayout(b *testing.B) {
	g := Build(tenComponents())
	if _, err := Layout(g); err != nil { // compile outside the timing
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Layout(g); err != nil {
			b.Fatal(err)
		}
	}
}
