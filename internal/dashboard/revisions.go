package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/pmezard/go-difflib/difflib"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/inspect"
	"github.com/appstack-dev/appstack-operator/internal/plan"
)

// revisionGVK is the kind the stack's revisions are recorded as.
var revisionGVK = appsv1.SchemeGroupVersion.WithKind("ControllerRevision")

// revisionRows are the stack's revisions as `kubectl appstack history` lists
// them, oldest first. A revision whose record cannot be read says so in its
// summary.
func revisionRows(st *appstackv1.AppStack, revs []appsv1.ControllerRevision) []Revision {
	out := make([]Revision, 0, len(revs))
	for i := range revs {
		cr := &revs[i]
		row := Revision{Number: cr.Revision, Created: cr.CreationTimestamp.Time, Current: cr.Revision == st.Status.Revision,
			Note: inspect.RevisionNote(st, cr)}
		if data, err := plan.DecodeRevision(cr); err != nil {
			row.Summary = err.Error()
		} else {
			row.Summary = inspect.RevisionSummary(data.Spec)
		}
		out = append(out, row)
	}
	return out
}

// serveDiff is GET /api/stacks/{name}/diff?from=N&to=M: the unified diff of
// the two revisions' specs as YAML.
func (s *Server) serveDiff(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, errFrom := strconv.ParseInt(q.Get("from"), 10, 64)
	to, errTo := strconv.ParseInt(q.Get("to"), 10, 64)
	if errFrom != nil || errTo != nil {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("from and to are revision numbers, e.g. ?from=1&to=2 (given from=%q to=%q)",
			q.Get("from"), q.Get("to")))
		return
	}
	d, fail := s.revisionDiff(r.Context(), r.PathValue("name"), from, to)
	if fail != nil {
		writeError(w, r, fail.code, fail.msg)
		return
	}
	writeJSON(w, r, http.StatusOK, d)
}

func (s *Server) revisionDiff(ctx context.Context, name string, from, to int64) (*RevisionDiff, *failure) {
	st, rd, fail := s.openStack(ctx, name)
	if fail != nil {
		return nil, fail
	}
	if !rd.reads(s.kindByGV[revisionGVK]) {
		return nil, &failure{http.StatusForbidden, fmt.Sprintf("the revisions of stack %s are not shown: %s",
			name, s.why(rd.ns, s.kindByGV[revisionGVK]))}
	}
	revs, err := inspect.Revisions(ctx, rd, st)
	if err != nil {
		return nil, &failure{http.StatusInternalServerError, err.Error()}
	}
	var specs [2][]string
	for i, n := range []int64{from, to} {
		cr, err := inspect.FindRevision(name, revs, n)
		if err != nil {
			return nil, &failure{http.StatusNotFound, err.Error()}
		}
		data, err := plan.DecodeRevision(cr)
		if err != nil {
			return nil, &failure{http.StatusInternalServerError, err.Error()}
		}
		y, err := yaml.Marshal(data.Spec)
		if err != nil {
			return nil, &failure{http.StatusInternalServerError, fmt.Sprintf("revision %d as YAML: %v", n, err)}
		}
		specs[i] = difflib.SplitLines(string(y))
	}
	diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: specs[0], B: specs[1],
		FromFile: fmt.Sprintf("%s/revision-%d/spec", name, from), ToFile: fmt.Sprintf("%s/revision-%d/spec", name, to),
		Context: 3})
	if err != nil {
		return nil, &failure{http.StatusInternalServerError, err.Error()}
	}
	return &RevisionDiff{From: from, To: to, Diff: diff}, nil
}
