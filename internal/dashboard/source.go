package dashboard

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(appstackv1.AddToScheme(scheme))
}

// kind is one kind the dashboard reads through an informer.
type kind struct {
	proto client.Object
	gvk   schema.GroupVersionKind
	// gr is the resource, for access reviews and for the Hidden lines.
	gr         schema.GroupResource
	namespaced bool
	// typeName is how an informer's reflector names the kind in its errors.
	typeName string
}

// Roles a kind plays in the page, for what a Hidden line says it costs.
var (
	kindRevision  = &appsv1.ControllerRevision{}
	kindEvent     = &corev1.Event{}
	kindNamespace = &corev1.Namespace{}
	kindStack     = &appstackv1.AppStack{}
	// stackLabelExists selects the stacks' children: what the dashboard keeps
	// of each kind is only what some stack labelled.
	stackLabelExists = mustExists(render.LabelStack)
)

func mustExists(label string) labels.Selector {
	req, err := labels.NewRequirement(label, selection.Exists, nil)
	utilruntime.Must(err)
	return labels.NewSelector().Add(*req)
}

// resolve fills in a kind's resource from the API server's discovery (mapper).
func resolve(mapper meta.RESTMapper, proto client.Object) (kind, error) {
	gvk, err := apiutil.GVKForObject(proto, scheme)
	if err != nil {
		return kind{}, err
	}
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return kind{}, fmt.Errorf("find the API of %s: %w", gvk.Kind, err)
	}
	return kind{proto: proto, gvk: gvk, gr: m.Resource.GroupResource(),
		namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace,
		typeName:   reflect.TypeOf(proto).String()}, nil
}

// source is one controller-runtime cache (the cluster-wide one, the one for the
// stacks' own events, or one namespace's) and the informers started in it.
type source struct {
	// where is "cluster-wide" or "in namespace NAME", for messages.
	where string
	cache cache.Cache
	// widen serializes adding informers to a running source.
	widen sync.Mutex

	mu        sync.Mutex
	informers map[schema.GroupVersionKind]cache.Informer
	// errs is the last list or watch error of each kind's informer, by the
	// reflector's type name: what a Hidden line says of a kind not read yet.
	errs map[string]error
	// late are the informers that had not read their kind whole by the end of
	// a wait: later requests do not wait for them again (each would pay the
	// whole timeout while, say, an aggregated API is down).
	late map[schema.GroupVersionKind]bool
}

// sourceOptions are what differs between sources: which namespaces (none: all),
// the selectors of kinds that differ from the default (children selected by the
// stack label).
type sourceOptions struct {
	where      string
	namespaces []string
	byObject   map[client.Object]cache.ByObject
	// onError is told every list or watch error (besides the source's record).
	onError func(typeName string, err error)
}

func (s *Server) newSource(o sourceOptions) (*source, error) {
	src := &source{where: o.where, informers: map[schema.GroupVersionKind]cache.Informer{}, errs: map[string]error{}}
	opts := cache.Options{
		HTTPClient:           s.httpClient,
		Scheme:               scheme,
		Mapper:               s.mapper,
		DefaultLabelSelector: stackLabelExists,
		DefaultTransform:     cache.TransformStripManagedFields(),
		ByObject:             o.byObject,
		DefaultWatchErrorHandler: func(_ context.Context, r *toolscache.Reflector, err error) {
			if benignWatchError(err) {
				return
			}
			src.mu.Lock()
			src.errs[r.TypeDescription()] = err
			src.mu.Unlock()
			if o.onError != nil {
				o.onError(r.TypeDescription(), err)
			}
		},
		ReaderFailOnMissingInformer: true,
	}
	if len(o.namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range o.namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	c, err := cache.New(s.restConfig, opts)
	if err != nil {
		return nil, fmt.Errorf("set up the informers %s: %w", o.where, err)
	}
	src.cache = c
	return src, nil
}

// add starts reading k (now if the cache runs, else when it starts), telling h
// of every change.
func (src *source) add(ctx context.Context, k kind, h toolscache.ResourceEventHandler) error {
	inf, err := src.cache.GetInformer(ctx, k.proto, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("start reading %s %s: %w", k.gr.Resource, src.where, err)
	}
	if _, err := inf.AddEventHandler(h); err != nil {
		return fmt.Errorf("follow %s %s: %w", k.gr.Resource, src.where, err)
	}
	src.mu.Lock()
	src.informers[k.gvk] = inf
	src.mu.Unlock()
	return nil
}

// has tells whether the source reads k (synced or not).
func (src *source) has(k kind) bool {
	if src == nil {
		return false
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.informers[k.gvk] != nil
}

// synced tells whether the source reads k and has read it whole at least once.
func (src *source) synced(k kind) bool {
	if src == nil {
		return false
	}
	src.mu.Lock()
	inf := src.informers[k.gvk]
	src.mu.Unlock()
	return inf != nil && inf.HasSynced()
}

// lastError is the last list or watch error of k's informer, if any.
func (src *source) lastError(k kind) error {
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.errs[k.typeName]
}

// waitSynced waits until the source's informers of kinds (all of them when none
// is given) have synced, or timeout passes, or ctx ends. An informer that was
// still unsynced at the end of an earlier wait is not waited for again; the
// informers still unsynced when this wait ends are returned, and marked so.
func (src *source) waitSynced(ctx context.Context, timeout time.Duration, kinds ...kind) []cache.Informer {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	src.mu.Lock()
	infs := map[schema.GroupVersionKind]cache.Informer{}
	for gvk, inf := range src.informers {
		if !src.late[gvk] && (len(kinds) == 0 || slices.ContainsFunc(kinds, func(k kind) bool { return k.gvk == gvk })) {
			infs[gvk] = inf
		}
	}
	src.mu.Unlock()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		for gvk, inf := range infs {
			if inf.HasSynced() {
				delete(infs, gvk)
			}
		}
		if len(infs) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			src.mu.Lock()
			defer src.mu.Unlock()
			if src.late == nil {
				src.late = map[schema.GroupVersionKind]bool{}
			}
			late := make([]cache.Informer, 0, len(infs))
			for gvk, inf := range infs {
				src.late[gvk] = true
				late = append(late, inf)
			}
			return late
		case <-tick.C:
		}
	}
}
