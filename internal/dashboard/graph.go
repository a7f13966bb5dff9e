package dashboard

import (
	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/graph"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// stackGraph stands in for graph.Build, which is written on another branch: the
// components, with their phase from the status, and the dependsOn edges. When
// graph.Build lands, it replaces this function (and its volumes, configs and
// services come with it).
func stackGraph(st *appstackv1.AppStack) graph.Graph {
	g := graph.Graph{Stack: st.Name, Namespace: render.NamespaceName(st), Nodes: []graph.Node{}, Edges: []graph.Edge{}}
	status := map[string]appstackv1.ComponentStatus{}
	for _, cs := range st.Status.Components {
		status[cs.Name] = cs
	}
	for i := range st.Spec.Components {
		c := &st.Spec.Components[i]
		cs := status[c.Name]
		g.Nodes = append(g.Nodes, graph.Node{ID: "component/" + c.Name, Type: graph.NodeComponent, Name: c.Name,
			Kind: string(render.KindOf(c)), Phase: string(cs.Phase), Reason: cs.Reason, Message: cs.Message,
			Replicas: cs.Replicas, ReadyReplicas: cs.ReadyReplicas})
		for _, dep := range c.DependsOn {
			g.Edges = append(g.Edges, graph.Edge{From: "component/" + dep, To: "component/" + c.Name, Type: graph.EdgeDependsOn})
		}
	}
	return g
}
