// Package graph is a stack as a graph: its components, the dependsOn edges
// between them, and the stack-level volumes and configs linked to the components
// that use them. It is pure (no cluster access): Build reads an AppStack — its
// spec, and its status when the operator wrote one — and the writers turn the
// graph into DOT, Mermaid or SVG. The same graph feeds `kubectl appstack graph`
// and the dashboard (docs/dashboard.md).
package graph

// NodeType says what a node stands for.
type NodeType string

const (
	// NodeComponent is one of spec.components.
	NodeComponent NodeType = "component"
	// NodeVolume is one of spec.volumes (a stack-level claim).
	NodeVolume NodeType = "volume"
	// NodeConfig is one of spec.configs (a stack-level ConfigMap).
	NodeConfig NodeType = "config"
)

// EdgeType says why two nodes are joined.
type EdgeType string

const (
	// EdgeDependsOn joins a dependency (From) to the component that depends on it
	// (To): laid out top-down, what starts first is drawn first.
	EdgeDependsOn EdgeType = "dependsOn"
	// EdgeUses joins a stack volume or config (From) to a component that mounts
	// it (To).
	EdgeUses EdgeType = "uses"
)

// Graph is one stack's graph. Nodes come in spec order: components, then volumes,
// then configs; edges in the order of the components that declare them.
type Graph struct {
	Stack     string `json:"stack"`
	Namespace string `json:"namespace"`
	Nodes     []Node `json:"nodes"`
	Edges     []Edge `json:"edges"`
}

// Node is a component, volume or config. ID is "<type>/<name>", unique in the
// graph. Phase, Reason, Message and the replica counts come from the stack's
// status and are empty when it has none (offline, from a file).
type Node struct {
	ID   string   `json:"id"`
	Type NodeType `json:"type"`
	Name string   `json:"name"`
	// Kind is a component's workload kind (Deployment, StatefulSet, ...).
	Kind string `json:"kind,omitempty"`
	// Phase is a component's phase (Ready, Progressing, Waiting, Failed,
	// Suspended); for a volume, its claim's phase (Bound, Pending, Lost).
	Phase         string `json:"phase,omitempty"`
	Reason        string `json:"reason,omitempty"`
	Message       string `json:"message,omitempty"`
	Replicas      int32  `json:"replicas,omitempty"`
	ReadyReplicas int32  `json:"readyReplicas,omitempty"`
	// Images are a component's container images, in spec order.
	Images []string `json:"images,omitempty"`
	// Service is a component's Service: its type and ports as the spec gives
	// them, and its address and in-cluster URL once the status carries them.
	Service *Service `json:"service,omitempty"`
	// Size, Retain: a volume's requested size and whether its claim outlives the
	// stack.
	Size   string `json:"size,omitempty"`
	Retain bool   `json:"retain,omitempty"`
	// Capacity is a volume's bound capacity, from the status.
	Capacity string `json:"capacity,omitempty"`
}

// Service is what a component's Service looks like in the graph.
type Service struct {
	Type      string   `json:"type"`
	Ports     []string `json:"ports,omitempty"`
	ClusterIP string   `json:"clusterIP,omitempty"`
	URL       string   `json:"url,omitempty"`
}

// Edge joins From to To (node IDs).
type Edge struct {
	From string   `json:"from"`
	To   string   `json:"to"`
	Type EdgeType `json:"type"`
}
