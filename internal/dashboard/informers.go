package dashboard

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// clusterWide is where a source that reads every namespace reads.
const clusterWide = "cluster-wide"

// indexNamespace indexes the stacks by the namespace their objects live in, so
// that an event in a namespace finds its stack.
const indexNamespace = "appstack.namespace"

// setupCluster decides, by access reviews, what is read cluster-wide: the stacks
// and each kind the user may list and watch everywhere; and where the events
// about stacks are read.
func (s *Server) setupCluster(ctx context.Context) error {
	stacksOK, err := s.access.canRead(ctx, s.stackKind.gr, "")
	if err != nil {
		return fmt.Errorf("%s", explain(err, s.restConfig.Host, s.opts.Context))
	}
	s.cluster, err = s.newSource(sourceOptions{
		where: clusterWide,
		// The stacks are read whole; every other kind by the stack label.
		byObject: map[client.Object]cache.ByObject{kindStack: {Label: labels.Everything()}},
		onError:  func(string, error) { s.probeNow() },
	})
	if err != nil {
		return err
	}
	if stacksOK {
		if err := s.cluster.cache.IndexField(ctx, kindStack, indexNamespace, func(o client.Object) []string {
			return []string{render.NamespaceName(o.(*appstackv1.AppStack))}
		}); err != nil {
			return err
		}
		if err := s.cluster.add(ctx, s.stackKind, s.handler(s.stackKind)); err != nil {
			return err
		}
	} else {
		// Asked once, at start: the dashboard reads the stacks with one informer
		// set up here, so a right granted later needs a new start.
		s.stacksForbidden = fmt.Sprintf("you (%s) may not list and watch AppStacks cluster-wide, so no stack is shown. "+
			"Ask a cluster admin to bind you to the ClusterRole appstack-viewer-role, e.g. "+
			"kubectl create clusterrolebinding appstack-viewer-%s --clusterrole=appstack-viewer-role --user=%s, "+
			"then start the dashboard again.",
			s.info.User, sanitizeName(s.info.User), shellQuote(s.info.User))
	}
	for _, k := range s.kinds {
		ok, err := s.access.canRead(ctx, k.gr, "")
		if err != nil {
			return err
		}
		if ok {
			if err := s.cluster.add(ctx, k, s.handler(k)); err != nil {
				return err
			}
		}
	}
	return s.setupStackEvents(ctx)
}

// setupStackEvents reads the events about stacks: recorded about a
// cluster-scoped object, they are in namespace default; read everywhere when the
// user may, in default when only there, else not (a Hidden line says so).
func (s *Server) setupStackEvents(ctx context.Context) error {
	var namespaces []string
	s.stackEventsWhere = clusterWide
	ok, err := s.access.canRead(ctx, s.eventKind.gr, "")
	if err == nil && !ok {
		namespaces, s.stackEventsWhere = []string{corev1.NamespaceDefault}, "in namespace "+corev1.NamespaceDefault
		ok, err = s.access.canRead(ctx, s.eventKind.gr, corev1.NamespaceDefault)
	}
	if err != nil || !ok {
		return err
	}
	s.stackEvents, err = s.newSource(sourceOptions{
		where: "about stacks " + s.stackEventsWhere, namespaces: namespaces,
		byObject: map[client.Object]cache.ByObject{kindEvent: {
			Label: labels.Everything(), Field: fields.OneTermEqualSelector(eventKindField, "AppStack")}},
	})
	if err != nil {
		return err
	}
	if err := s.stackEvents.cache.IndexField(ctx, kindEvent, indexInvolvedName, func(o client.Object) []string {
		return []string{o.(*corev1.Event).InvolvedObject.Name}
	}); err != nil {
		return err
	}
	return s.stackEvents.add(ctx, s.eventKind, s.handler(s.eventKind))
}

// namespaceSource is the source of the kinds of namespace ns that are not read
// cluster-wide: started on the first stack page there, with each kind the user
// may list and watch in ns, and widened when a right is granted later (the
// access reviews are asked again after accessTTL). It waits until what it reads
// has been read whole, for syncTimeout at most.
func (s *Server) namespaceSource(ctx context.Context, ns string) (*source, error) {
	s.mu.Lock()
	src := s.namespaces[ns]
	if src == nil {
		var err error
		src, err = s.newSource(sourceOptions{where: "in namespace " + ns, namespaces: []string{ns},
			byObject: map[client.Object]cache.ByObject{kindEvent: {Label: labels.Everything()}}})
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		s.namespaces[ns] = src
		go func(ctx context.Context) { _ = src.cache.Start(ctx) }(s.runCtx)
	}
	s.mu.Unlock()
	src.widen.Lock()
	defer src.widen.Unlock()
	for _, k := range append([]kind{s.eventKind}, s.kinds...) {
		if !k.namespaced || s.cluster.has(k) || src.has(k) {
			continue
		}
		ok, err := s.access.canRead(ctx, k.gr, ns)
		if err != nil {
			return nil, err
		}
		if ok {
			if err := src.add(ctx, k, s.handler(k)); err != nil {
				return nil, err
			}
		}
	}
	for _, inf := range src.waitSynced(ctx, syncTimeout) {
		go s.announceSynced(ns, inf)
	}
	return src, nil
}

// announceSynced tells the pages of namespace ns's stacks when inf, which a
// request gave up waiting for, has read its kind whole: its first read sends no
// change of its own (handler), and the page would say "not read yet" until
// something else changed.
func (s *Server) announceSynced(ns string, inf cache.Informer) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for !inf.HasSynced() {
		select {
		case <-s.runCtx.Done():
			return
		case <-tick.C:
		}
	}
	for _, name := range s.stacksIn(ns) {
		s.hub.notify(name)
	}
}

// handler tells the page of each change of an object of kind k after the
// informer's first full read: the change is the stack's the object belongs to.
func (s *Server) handler(k kind) toolscache.ResourceEventHandler {
	notify := func(obj any) {
		if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if o, ok := obj.(client.Object); ok {
			for _, name := range s.stacksOf(k, o) {
				s.hub.notify(name)
			}
		}
	}
	return toolscache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			if !initial {
				notify(obj)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, okOld := oldObj.(client.Object)
			n, okNew := newObj.(client.Object)
			if okOld && okNew && o.GetResourceVersion() == n.GetResourceVersion() {
				return // a resync, not a change
			}
			notify(newObj)
		},
		DeleteFunc: notify,
	}
}

// stacksOf names the stacks an object's change concerns: the stack itself; the
// stack a child is labelled with; for an event, the stack it is about or the
// stacks whose objects live in its namespace.
func (s *Server) stacksOf(k kind, o client.Object) []string {
	switch k.gvk {
	case s.stackKind.gvk:
		return []string{o.GetName()}
	case s.eventKind.gvk:
		ev, ok := o.(*corev1.Event)
		if !ok {
			return nil
		}
		if isStackEvent(ev) {
			return []string{ev.InvolvedObject.Name}
		}
		return s.stacksIn(ev.Namespace)
	default:
		if name := o.GetLabels()[render.LabelStack]; name != "" {
			return []string{name}
		}
		return nil
	}
}

// stacksIn names the stacks whose objects live in namespace ns.
func (s *Server) stacksIn(ns string) []string {
	if !s.cluster.synced(s.stackKind) {
		return nil
	}
	list := &appstackv1.AppStackList{}
	if err := s.cluster.cache.List(context.Background(), list, client.MatchingFields{indexNamespace: ns}); err != nil {
		return nil
	}
	names := make([]string, 0, len(list.Items))
	for _, st := range list.Items {
		names = append(names, st.Name)
	}
	return names
}

// sanitizeName makes a user name fit an object name in a suggested command.
func sanitizeName(user string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return '-'
	}, user)
}
