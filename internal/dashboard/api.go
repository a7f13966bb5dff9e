package dashboard

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/graph"
)

// The JSON the dashboard's pages read (docs/dashboard.md "API"). Everything is
// read with the identity of the user who started `kubectl appstack dashboard`;
// what that identity may not read is said in Hidden/Forbidden fields, in words,
// never silently left out.

// StackList is GET /api/stacks.
type StackList struct {
	Stacks []StackRow `json:"stacks"`
	// Forbidden is set, and Stacks empty, when the user may not list AppStacks:
	// the server's own message and what to ask for.
	Forbidden string `json:"forbidden,omitempty"`
	// Error is set when the cluster could not be read at all (unreachable,
	// expired credentials), with what to do.
	Error string `json:"error,omitempty"`
}

// StackRow is one stack in the stacks page, and the head of its stack page.
type StackRow struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Ready is status.ready ("2/3": ready components of all).
	Ready string `json:"ready"`
	// Health is one word for the row's color and for "failing first":
	// Ready, Progressing, Failed (the stack is Stalled), Suspended, Deleting,
	// Unknown (no status yet, or not observed at this generation).
	Health string `json:"health"`
	// Reason and Message are the Ready condition's.
	Reason   string    `json:"reason"`
	Message  string    `json:"message"`
	Revision int64     `json:"revision,omitempty"`
	Created  time.Time `json:"created"`
}

// StackView is GET /api/stacks/{name}.
type StackView struct {
	StackRow `json:",inline"`
	Graph    graph.Graph `json:"graph"`
	// Components are each component's native objects and pods, keyed by
	// component name; StackObjects are the stack's own (its namespace, configs,
	// volumes' claims) and what a component no longer listed left behind.
	Components   map[string]ComponentObjects `json:"components"`
	StackObjects []Object                    `json:"stackObjects,omitempty"`
	Conditions   []metav1.Condition          `json:"conditions,omitempty"`
	Rollback     *appstackv1.RollbackStatus  `json:"rollback,omitempty"`
	Revisions    []Revision                  `json:"revisions,omitempty"`
	Events       []Event                     `json:"events,omitempty"`
	// Actions are the commands a person would run from here, only those the
	// user's identity is allowed to run (SelfSubjectAccessReview).
	Actions []Action `json:"actions,omitempty"`
	// Hidden says, one line each, what the user may not read and so the page
	// does not show: "pods in namespace shop: you may not list pods there
	// (RBAC); the components' phases come from the stack's status".
	Hidden []string `json:"hidden,omitempty"`
}

// ComponentObjects are one component's objects and pods.
type ComponentObjects struct {
	Objects []Object `json:"objects,omitempty"`
	Pods    []Object `json:"pods,omitempty"`
}

// Object is one native object: its kstatus health and what a person looks for
// in its kind.
type Object struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	UID       string `json:"uid"`
	// Health is kstatus's (Current, InProgress, Failed, ...) or, for a pod, its
	// phase; Message says why when it is not healthy.
	Health  string `json:"health"`
	Message string `json:"message,omitempty"`

	Pod        *PodInfo        `json:"pod,omitempty"`
	Service    *ServiceInfo    `json:"service,omitempty"`
	Claim      *ClaimInfo      `json:"claim,omitempty"`
	Ingress    *IngressInfo    `json:"ingress,omitempty"`
	Autoscaler *AutoscalerInfo `json:"autoscaler,omitempty"`
}

// PodInfo: ready containers of all, restarts summed over containers, and the
// reason a container waits or was last terminated (CrashLoopBackOff,
// ImagePullBackOff, OOMKilled, ...).
type PodInfo struct {
	Ready    int32  `json:"ready"`
	Total    int32  `json:"total"`
	Restarts int32  `json:"restarts"`
	Waiting  string `json:"waiting,omitempty"`
	Node     string `json:"node,omitempty"`
}

// ServiceInfo: type, ClusterIP, ports ("80/TCP", "80:30080/TCP" with a
// NodePort), the in-cluster URL, and a LoadBalancer's address when it has one.
type ServiceInfo struct {
	Type      string   `json:"type"`
	ClusterIP string   `json:"clusterIP,omitempty"`
	Ports     []string `json:"ports,omitempty"`
	URL       string   `json:"url,omitempty"`
	External  []string `json:"external,omitempty"`
}

// ClaimInfo: phase, bound capacity, storage class, and Retained when the claim
// outlives the stack (apps.appstack.dev/retain).
type ClaimInfo struct {
	Phase        string `json:"phase"`
	Capacity     string `json:"capacity,omitempty"`
	StorageClass string `json:"storageClass,omitempty"`
	Retained     bool   `json:"retained"`
}

// IngressInfo: the hosts and the addresses the controller published.
type IngressInfo struct {
	Hosts     []string `json:"hosts,omitempty"`
	Addresses []string `json:"addresses,omitempty"`
}

// AutoscalerInfo: current and desired replicas, the bounds, and the targets
// with their current values ("cpu 45%/50%").
type AutoscalerInfo struct {
	Current int32    `json:"current"`
	Desired int32    `json:"desired"`
	Min     int32    `json:"min"`
	Max     int32    `json:"max"`
	Targets []string `json:"targets,omitempty"`
}

// Revision is one recorded revision of the stack's spec (a ControllerRevision).
type Revision struct {
	Number  int64     `json:"number"`
	Created time.Time `json:"created"`
	Current bool      `json:"current"`
	// Summary is each component with its images ("web=nginx:1.27 db=postgres:17").
	Summary string `json:"summary"`
	// Note marks a revision rolled back automatically, or the one running instead
	// of the spec's.
	Note string `json:"note,omitempty"`
}

// RevisionDiff is GET /api/stacks/{name}/diff?from=N&to=M: the unified diff of
// the two revisions' specs as YAML.
type RevisionDiff struct {
	From int64  `json:"from"`
	To   int64  `json:"to"`
	Diff string `json:"diff"`
}

// Event is one recent event about the stack or one of its objects, newest first.
type Event struct {
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Object  string    `json:"object"`
	Message string    `json:"message"`
	Count   int32     `json:"count"`
	Last    time.Time `json:"last"`
}

// Action is a command a person would run, to copy: "Roll back to revision 3" →
// "kubectl appstack rollback shop --to-revision 3".
type Action struct {
	Title   string `json:"title"`
	Command string `json:"command"`
}

// Info is GET /api/info: who the dashboard reads the cluster as, and where.
type Info struct {
	// Context and Server are the kubeconfig context and the API server's URL.
	Context string `json:"context"`
	Server  string `json:"server"`
	// User is the identity the API server sees (SelfSubjectReview), with groups.
	User   string   `json:"user"`
	Groups []string `json:"groups,omitempty"`
	// Version is the plugin's version.
	Version string `json:"version"`
}

// The routes (docs/dashboard.md "API"):
//
//	GET /                              the page (index.html; the pages route on the URL's #fragment:
//	                                   #/ the stacks, #/stacks/NAME one stack)
//	GET /assets/...                    app.js, style.css, dagre.min.js and the licenses, embedded
//	GET /api/info                      Info
//	GET /api/stacks                    StackList, failing first (Failed, Progressing/Unknown/Deleting,
//	                                   Suspended, Ready), then by name
//	GET /api/stacks/{name}             StackView; 404 with a JSON {"error": ...} when there is none
//	GET /api/stacks/{name}/diff?from=N&to=M   RevisionDiff
//	GET /api/watch                     server-sent events: "event: change" with data {"stack":"NAME"}
//	                                   whenever a watched object of stack NAME (or the stack itself)
//	                                   changes, coalesced per stack over 100 ms; a ": keepalive"
//	                                   comment every 15 s. The page re-reads what it shows on each.
//	                                   "event: cluster" with data {"error":"..."} when the API server
//	                                   stops answering or refuses the credentials (the words of
//	                                   StackList.Error), {"error":""} when it answers again.
//
// Requests whose Host header is not the address the dashboard listens on are
// refused (a page elsewhere in the browser cannot read the cluster through it by
// DNS rebinding); everything is GET, nothing writes.
