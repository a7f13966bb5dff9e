package dashboard

import (
	"context"
	"errors"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// reader is what a stack page reads through (internal/inspect): each kind from
// the source that reads it, cluster-wide or the stack's namespace's, once that
// source has read it whole. A kind that neither reads lists as empty and gets as
// Forbidden; the page's Hidden lines say why.
type reader struct {
	s  *Server
	ns *source
}

var _ client.Reader = reader{}

// from is the source that has read obj's kind whole, nil when none has.
func (r reader) from(obj runtime.Object) (*source, kind) {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		return nil, kind{}
	}
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	k, ok := r.s.kindByGV[gvk]
	if !ok {
		return nil, k
	}
	for _, src := range []*source{r.s.cluster, r.ns} {
		if src.synced(k) {
			return src, k
		}
	}
	return nil, k
}

func (r reader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	src, k := r.from(obj)
	if src == nil {
		return apierrors.NewForbidden(k.gr, key.Name, errors.New("not read by the dashboard"))
	}
	return src.cache.Get(ctx, key, obj, opts...)
}

func (r reader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	src, _ := r.from(list)
	if src == nil {
		return nil
	}
	return src.cache.List(ctx, list, opts...)
}

// reads tells whether k is read whole, cluster-wide or in the stack's namespace.
func (r reader) reads(k kind) bool {
	return r.s.cluster.synced(k) || r.ns.synced(k)
}
