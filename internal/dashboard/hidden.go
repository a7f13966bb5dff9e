package dashboard

import (
	"fmt"
)

// hidden says, one line each, what the stack page does not show because the
// user may not read it (or it has not been read yet), and what that costs.
func (s *Server) hidden(nsrc *source, ns string) []string {
	var lines, denied []string
	for _, k := range s.kinds {
		if s.cluster.synced(k) || nsrc.synced(k) {
			continue
		}
		switch {
		case s.cluster.has(k) || nsrc.has(k):
			lines = append(lines, fmt.Sprintf("%s %s: %s", k.gr.Resource, where(k, ns), s.why(nsrc, k)))
		case k.gvk.Kind == "Namespace":
			lines = append(lines, "namespaces: you may not list and watch namespaces cluster-wide; "+
				"the stack's namespace is not shown among its objects")
		case k.gvk.Kind == "Pod":
			lines = append(lines, fmt.Sprintf("pods in namespace %s: you may not list and watch pods there; "+
				"the components' phases and replica counts come from the stack's status", ns))
		case k.gvk == revisionGVK:
			lines = append(lines, fmt.Sprintf("revisions (controllerrevisions in namespace %s): you may not list and "+
				"watch them there; the revision history, its diffs and the rollback commands are not shown", ns))
		default:
			denied = append(denied, k.gr.Resource)
		}
	}
	if len(denied) > 0 {
		lines = append([]string{fmt.Sprintf("%s in namespace %s: you may not list and watch them there; the stack's "+
			"objects of those kinds are not shown (the components' phases come from the stack's status)",
			joinKinds(denied), ns)}, lines...)
	}
	switch {
	case nsrc.synced(s.eventKind):
	case nsrc.has(s.eventKind):
		lines = append(lines, fmt.Sprintf("events in namespace %s: %s", ns, s.why(nsrc, s.eventKind)))
	default:
		lines = append(lines, fmt.Sprintf("events in namespace %s: you may not list and watch events there; "+
			"the events of the stack's objects are not shown", ns))
	}
	switch {
	case s.stackEvents.synced(s.eventKind):
	case s.stackEvents != nil:
		lines = append(lines, "events about stacks "+s.stackEventsWhere+": "+s.why(s.stackEvents, s.eventKind))
	default:
		lines = append(lines, "events about stacks (in namespace default): you may not list and watch events there; "+
			"the stack's own events are not shown")
	}
	return lines
}

// where says where a kind is read: cluster-wide or in namespace ns.
func where(k kind, ns string) string {
	if !k.namespaced {
		return clusterWide
	}
	return "in namespace " + ns
}

// why says why k is not shown from nsrc (or the cluster-wide source): not
// permitted, or not read yet and the last error.
func (s *Server) why(nsrc *source, k kind) string {
	for _, src := range []*source{s.cluster, nsrc} {
		if !src.has(k) {
			continue
		}
		if err := src.lastError(k); err != nil {
			return "not read yet: " + explain(err, s.restConfig.Host, s.opts.Context)
		}
		return "not read yet (the API server has not answered the list); reload in a moment"
	}
	return fmt.Sprintf("you may not list and watch %s there", k.gr.Resource)
}
