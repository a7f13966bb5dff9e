package dashboard

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/graph"
	"github.com/appstack-dev/appstack-operator/internal/inspect"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// failure is an answer other than 200: its status code and what to tell the user.
type failure struct {
	code int
	msg  string
}

func (s *Server) serveStack(w http.ResponseWriter, r *http.Request) {
	view, fail := s.stackView(r.Context(), r.PathValue("name"))
	if fail != nil {
		writeError(w, r, fail.code, fail.msg)
		return
	}
	writeJSON(w, r, http.StatusOK, view)
}

// getStack reads a stack from the cache.
func (s *Server) getStack(ctx context.Context, name string) (*appstackv1.AppStack, *failure) {
	if s.stacksForbidden != "" {
		return nil, &failure{http.StatusForbidden, s.stacksForbidden}
	}
	if msg := s.stacksSynced(ctx); msg != "" {
		return nil, &failure{http.StatusServiceUnavailable, msg}
	}
	st := &appstackv1.AppStack{}
	err := s.cluster.cache.Get(ctx, client.ObjectKey{Name: name}, st)
	switch {
	case apierrors.IsNotFound(err):
		return nil, &failure{http.StatusNotFound, fmt.Sprintf("there is no stack %s (kubectl get appstacks lists them)", name)}
	case err != nil:
		return nil, &failure{http.StatusInternalServerError, fmt.Sprintf("read stack %s from the dashboard's cache: %v", name, err)}
	}
	return st, nil
}

// openStack reads a stack, and gives the reader of its objects, its
// namespace's informers started and synced.
func (s *Server) openStack(ctx context.Context, name string) (*appstackv1.AppStack, reader, *failure) {
	st, fail := s.getStack(ctx, name)
	if fail != nil {
		return nil, reader{}, fail
	}
	nsrc, err := s.namespaceSource(ctx, render.NamespaceName(st))
	if err != nil {
		return nil, reader{}, &failure{http.StatusServiceUnavailable, explain(err, s.restConfig.Host, s.opts.Context)}
	}
	return st, reader{s: s, ns: nsrc}, nil
}

// stackView is GET /api/stacks/{name}'s answer.
func (s *Server) stackView(ctx context.Context, name string) (*StackView, *failure) {
	st, r, fail := s.openStack(ctx, name)
	if fail != nil {
		return nil, fail
	}
	v := &StackView{StackRow: stackRow(st), Graph: graph.Build(st), Conditions: st.Status.Conditions,
		Rollback: st.Status.Rollback}
	rel, err := placeObjects(ctx, r, st, v)
	if err != nil {
		return nil, &failure{http.StatusInternalServerError, err.Error()}
	}
	revs, err := inspect.Revisions(ctx, r, st)
	if err != nil {
		return nil, &failure{http.StatusInternalServerError, err.Error()}
	}
	v.Revisions = revisionRows(st, revs)
	if v.Events, err = s.events(ctx, r, st, rel); err != nil {
		return nil, &failure{http.StatusInternalServerError, err.Error()}
	}
	if v.Actions, err = s.actions(ctx, st, v.Revisions, r.reads(s.kindByGV[revisionGVK])); err != nil {
		return nil, &failure{http.StatusServiceUnavailable, explain(err, s.restConfig.Host, s.opts.Context)}
	}
	v.Hidden = s.hidden(r.ns, render.NamespaceName(st))
	return v, nil
}

// related are the stack's objects an event may be about: their UIDs, and the
// names of its Deployments, whose ReplicaSets ("web-5d8f...") have events of
// their own (FailedCreate).
type related struct {
	uids        map[types.UID]bool
	deployments []string
}

func (rel related) has(kind, name string, uid types.UID) bool {
	if rel.uids[uid] {
		return true
	}
	return kind == "ReplicaSet" && slices.ContainsFunc(rel.deployments,
		func(d string) bool { return strings.HasPrefix(name, d+"-") })
}

// placeObjects reads the stack's objects and pods (internal/inspect, as
// `kubectl appstack status` does) into v: each under its component, or the
// stack's own.
func placeObjects(ctx context.Context, r reader, st *appstackv1.AppStack, v *StackView) (related, error) {
	rel := related{uids: map[types.UID]bool{st.UID: true}}
	contents, err := inspect.Read(ctx, r, st)
	if err != nil {
		return rel, err
	}
	pods := contents.Pods
	v.Components = map[string]ComponentObjects{}
	for _, n := range v.Graph.Nodes {
		if n.Type == graph.NodeComponent {
			v.Components[n.Name] = ComponentObjects{}
		}
	}
	for _, o := range contents.Objects {
		rel.uids[o.GetUID()] = true
		if o.GVK.Kind == "Deployment" {
			rel.deployments = append(rel.deployments, o.GetName())
		}
		obj := objectOf(st, o)
		if c, ok := v.Components[o.Component]; ok && o.Component != "" {
			c.Objects = append(c.Objects, obj)
			v.Components[o.Component] = c
		} else {
			v.StackObjects = append(v.StackObjects, obj)
		}
	}
	for _, component := range slices.Sorted(maps.Keys(pods)) {
		for i := range pods[component] {
			p := &pods[component][i]
			rel.uids[p.UID] = true
			if c, ok := v.Components[component]; ok {
				c.Pods = append(c.Pods, podObject(p))
				v.Components[component] = c
			} else {
				v.StackObjects = append(v.StackObjects, podObject(p))
			}
		}
	}
	return rel, nil
}
