package graph

import (
	"fmt"
	"strings"
)

// The one palette of the graph: the DOT, Mermaid and SVG writers use it, and
// docs/dashboard.md ("Colors") gives the page the same values.
const (
	// TextColor is the color of a node's text.
	TextColor = "#1f2937"
	// EdgeColor is the color of edges and their arrowheads.
	EdgeColor = "#64748b"
)

// phaseClass groups the phases that share a color: a component's phase, or a
// volume claim's (Bound reads as Ready, Pending as Waiting, Lost as Failed).
func phaseClass(phase string) string {
	switch phase {
	case "Ready", "Bound":
		return "ready"
	case "Progressing", "Waiting", "Pending":
		return "waiting"
	case "Failed", "Lost":
		return "failed"
	case "Suspended":
		return "suspended"
	default:
		return "unknown"
	}
}

var palette = map[string][2]string{
	"ready":     {"#dcfce7", "#16a34a"},
	"waiting":   {"#fef3c7", "#d97706"},
	"failed":    {"#fee2e2", "#dc2626"},
	"suspended": {"#e5e7eb", "#6b7280"},
	"unknown":   {"#f8fafc", "#94a3b8"},
}

// PhaseColor is the fill and stroke of a node in the phase: Ready green,
// Progressing and Waiting amber, Failed red, Suspended grey, and a neutral pair
// for no phase (a graph drawn offline, or a node the operator has not reported
// on) or one this palette does not know.
func PhaseColor(phase string) (fill, stroke string) {
	c := palette[phaseClass(phase)]
	return c[0], c[1]
}

// lines are the text of a node's box, in the order drawn: its name, what it is
// (a component's kind and ready/desired replicas, when it has any; a volume's size and retain;
// "config"), and, when there is one, its status in a word (a component's
// reason, a volume claim's phase and capacity).
func lines(n Node) []string {
	out := []string{n.Name}
	switch n.Type {
	case NodeComponent:
		what := n.Kind
		if n.Replicas > 0 || n.ReadyReplicas > 0 { // not 0/0: a Job, a CronJob, a stack offline
			what += fmt.Sprintf(" %d/%d", n.ReadyReplicas, n.Replicas)
		}
		out = append(out, what)
		if n.Reason != "" {
			out = append(out, n.Reason)
		}
	case NodeVolume:
		what := "volume " + n.Size
		if n.Retain {
			what += ", retained"
		}
		out = append(out, what)
		if n.Phase != "" {
			out = append(out, strings.TrimSpace(n.Phase+" "+n.Capacity))
		}
	default:
		out = append(out, string(n.Type))
	}
	return out
}

// details is everything the graph knows of a node, one fact a line: the hover
// text of the SVG and DOT writers.
func details(n Node) string {
	out := []string{fmt.Sprintf("%s %s", n.Type, n.Name)}
	add := func(label, value string) {
		if value != "" {
			out = append(out, label+": "+value)
		}
	}
	add("kind", n.Kind)
	add("phase", n.Phase)
	add("reason", n.Reason)
	add("message", n.Message)
	if n.Replicas > 0 || n.ReadyReplicas > 0 {
		add("replicas", fmt.Sprintf("%d/%d ready", n.ReadyReplicas, n.Replicas))
	}
	add("images", strings.Join(n.Images, ", "))
	if s := n.Service; s != nil {
		add("service", strings.TrimSpace(s.Type+" "+strings.Join(s.Ports, ", ")))
		add("clusterIP", s.ClusterIP)
		add("url", s.URL)
	}
	add("size", n.Size)
	if n.Type == NodeVolume {
		add("retain", fmt.Sprint(n.Retain))
	}
	add("capacity", n.Capacity)
	return strings.Join(out, "\n")
}
