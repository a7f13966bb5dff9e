package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// The words of StackRow.Health.
const (
	HealthReady       = "Ready"
	HealthProgressing = "Progressing"
	HealthFailed      = "Failed"
	HealthSuspended   = "Suspended"
	HealthDeleting    = "Deleting"
	HealthUnknown     = "Unknown"
)

// healthRank orders the stacks page: failing first, then those on their way,
// then the suspended, then the ready.
var healthRank = map[string]int{
	HealthFailed: 0, HealthProgressing: 1, HealthUnknown: 1, HealthDeleting: 1, HealthSuspended: 2, HealthReady: 3,
}

// stackRow is a stack's line: its Ready condition and one word for its health.
func stackRow(st *appstackv1.AppStack) StackRow {
	row := StackRow{Name: st.Name, Namespace: render.NamespaceName(st), Ready: st.Status.Ready,
		Revision: st.Status.Revision, Created: st.CreationTimestamp.Time}
	row.Health = stackHealth(st)
	ready := meta.FindStatusCondition(st.Status.Conditions, appstackv1.ConditionReady)
	switch {
	case ready == nil:
		row.Reason, row.Message = HealthUnknown, "the operator has not reported on this stack yet"
	case ready.ObservedGeneration != st.Generation && st.DeletionTimestamp == nil:
		row.Reason = ready.Reason
		row.Message = fmt.Sprintf("the operator has not reported on the spec's generation %d yet; "+
			"of generation %d it said: %s", st.Generation, ready.ObservedGeneration, ready.Message)
	default:
		row.Reason, row.Message = ready.Reason, ready.Message
	}
	return row
}

// stackHealth is one word for a stack (api.go, StackRow.Health): Deleting once
// deleted; Unknown without a status of the spec's generation; Suspended when
// paused; Failed when Stalled; Progressing when Reconciling; Ready when Ready.
func stackHealth(st *appstackv1.AppStack) string {
	conds := st.Status.Conditions
	ready := meta.FindStatusCondition(conds, appstackv1.ConditionReady)
	switch {
	case st.DeletionTimestamp != nil:
		return HealthDeleting
	case ready == nil || ready.ObservedGeneration != st.Generation:
		return HealthUnknown
	case st.Spec.Paused || ready.Reason == appstackv1.ReasonSuspended:
		return HealthSuspended
	case meta.IsStatusConditionTrue(conds, appstackv1.ConditionStalled):
		return HealthFailed
	case meta.IsStatusConditionTrue(conds, appstackv1.ConditionReconciling):
		return HealthProgressing
	case ready.Status == metav1.ConditionTrue:
		return HealthReady
	default:
		return HealthUnknown
	}
}

// sortRows puts failing stacks first (healthRank), then by name.
func sortRows(rows []StackRow) {
	slices.SortFunc(rows, func(a, b StackRow) int {
		if c := cmp.Compare(healthRank[a.Health], healthRank[b.Health]); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
}

// stackList is GET /api/stacks's answer.
func (s *Server) stackList(ctx context.Context) StackList {
	out := StackList{Stacks: []StackRow{}}
	if s.stacksForbidden != "" {
		out.Forbidden = s.stacksForbidden
		return out
	}
	if err := s.stacksSynced(ctx); err != "" {
		out.Error = err
		return out
	}
	list := &appstackv1.AppStackList{}
	if err := s.cluster.cache.List(ctx, list); err != nil {
		out.Error = "read the stacks from the dashboard's cache: " + err.Error()
		return out
	}
	for i := range list.Items {
		out.Stacks = append(out.Stacks, stackRow(&list.Items[i]))
	}
	sortRows(out.Stacks)
	if err := s.connError(); err != nil {
		out.Error = explain(err, s.restConfig.Host, s.opts.Context) + " The page shows the stacks as last read."
	}
	return out
}

// stacksSynced waits until the stacks have been read whole, for syncTimeout at
// most; it says why not when they have not.
func (s *Server) stacksSynced(ctx context.Context) string {
	if err := s.started(ctx); err != nil {
		return "the dashboard is not reading the cluster yet"
	}
	s.cluster.waitSynced(ctx, syncTimeout, s.stackKind)
	if s.cluster.synced(s.stackKind) {
		return ""
	}
	if err := s.cluster.lastError(s.stackKind); err != nil {
		return explain(err, s.restConfig.Host, s.opts.Context)
	}
	return "the stacks are still being read from the API server; reload in a moment"
}

func (s *Server) serveStacks(w http.ResponseWriter, r *http.Request) {
	list := s.stackList(r.Context())
	code := http.StatusOK
	switch {
	case list.Forbidden != "":
		code = http.StatusForbidden
	case list.Error != "" && len(list.Stacks) == 0:
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, r, code, list)
}
