package graph

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// Build makes the graph of a stack from its spec, merging in what its status
// says of each component and volume when the operator wrote one. A reference to
// a component, volume or config the stack does not declare gets no edge: the
// CRD's rules refuse such a stack, so it can only come from a file that was not
// validated.
func Build(stack *appstackv1.AppStack) Graph {
	g := Graph{Stack: stack.Name, Namespace: render.NamespaceName(stack), Nodes: []Node{}, Edges: []Edge{}}
	components := map[string]appstackv1.ComponentStatus{}
	for _, cs := range stack.Status.Components {
		components[cs.Name] = cs
	}
	volumes := map[string]appstackv1.VolumeStatus{}
	for _, vs := range stack.Status.Volumes {
		volumes[vs.Name] = vs
	}
	declared := map[string]bool{}
	for i := range stack.Spec.Components {
		n := componentNode(stack, &stack.Spec.Components[i], components)
		declared[n.ID] = true
		g.Nodes = append(g.Nodes, n)
	}
	for i := range stack.Spec.Volumes {
		n := volumeNode(&stack.Spec.Volumes[i], volumes)
		declared[n.ID] = true
		g.Nodes = append(g.Nodes, n)
	}
	for _, c := range stack.Spec.Configs {
		n := Node{ID: NodeID(NodeConfig, c.Name), Type: NodeConfig, Name: c.Name}
		declared[n.ID] = true
		g.Nodes = append(g.Nodes, n)
	}
	for _, c := range stack.Spec.Components {
		g.Edges = append(g.Edges, componentEdges(c, declared)...)
	}
	return g
}

// NodeID is the ID of the node of the given type and name, e.g. "component/web".
func NodeID(t NodeType, name string) string { return string(t) + "/" + name }

func componentNode(
	stack *appstackv1.AppStack, c *appstackv1.Component, observed map[string]appstackv1.ComponentStatus,
) Node {
	n := Node{ID: NodeID(NodeComponent, c.Name), Type: NodeComponent, Name: c.Name, Kind: string(render.KindOf(c))}
	for _, ctr := range c.Containers {
		n.Images = append(n.Images, ctr.Image)
	}
	n.Service = serviceOf(stack, c)
	cs, ok := observed[c.Name]
	if !ok {
		return n
	}
	n.Phase, n.Reason, n.Message = string(cs.Phase), cs.Reason, cs.Message
	n.Replicas, n.ReadyReplicas = cs.Replicas, cs.ReadyReplicas
	if n.Service != nil && cs.Service != nil {
		n.Service.ClusterIP, n.Service.URL = cs.Service.ClusterIP, cs.Service.URL
	}
	return n
}

// serviceOf is the component's own Service as the renderer makes it (so with the
// renderer's defaults: a Service from the container ports, headless for a
// StatefulSet, none for type None), nil when it gets none.
func serviceOf(stack *appstackv1.AppStack, c *appstackv1.Component) *Service {
	services := render.Services(stack, c)
	if len(services) == 0 {
		return nil
	}
	svc := services[0]
	s := &Service{Type: string(svc.Spec.Type)}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		s.Type = string(appstackv1.ServiceTypeHeadless)
	}
	for _, p := range svc.Spec.Ports {
		// As the status writes them (internal/status), so both read alike.
		s.Ports = append(s.Ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
	}
	return s
}

func volumeNode(v *appstackv1.StackVolume, observed map[string]appstackv1.VolumeStatus) Node {
	n := Node{ID: NodeID(NodeVolume, v.Name), Type: NodeVolume, Name: v.Name, Size: v.Size.String(),
		Retain: render.Retains(v)}
	if vs, ok := observed[v.Name]; ok {
		n.Phase, n.Capacity = string(vs.Phase), vs.Capacity
	}
	return n
}

// componentEdges are a component's dependsOn edges, in its dependsOn order, then
// one uses edge per stack volume or config it mounts, in its volumes order (a
// config mounted twice is one edge).
func componentEdges(c appstackv1.Component, declared map[string]bool) []Edge {
	to := NodeID(NodeComponent, c.Name)
	var edges []Edge
	seen := map[string]bool{}
	add := func(from string, t EdgeType) {
		if !declared[from] || seen[from] {
			return
		}
		seen[from] = true
		edges = append(edges, Edge{From: from, To: to, Type: t})
	}
	for _, dep := range c.DependsOn {
		add(NodeID(NodeComponent, dep), EdgeDependsOn)
	}
	for _, v := range c.Volumes {
		switch {
		case v.PersistentVolume != "":
			add(NodeID(NodeVolume, v.PersistentVolume), EdgeUses)
		case v.Config != "":
			add(NodeID(NodeConfig, v.Config), EdgeUses)
		}
	}
	return edges
}
