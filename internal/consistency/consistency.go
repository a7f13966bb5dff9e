// Package consistency is the operator's one read-your-writes mechanism
// (docs/design.md, "The consistency gate"). The manager's cache shows the
// operator's own writes a moment after it makes them; a pass that read the cache
// before it showed them would decide from the past — apply again what it just
// applied, report a Deployment it just changed as still rolled out, lose the
// inventory its last status write recorded. So:
//
//   - every write a pass makes goes through a Client that records, in the pass's
//     Writes (carried by the context), the object as the apiserver returned it;
//   - a Get through Writes.Reader sees, of every object the pass wrote, the newer
//     of the cache's copy and the written one: the status at the end of a pass is
//     computed from what the pass made;
//   - at its end a pass's writes are committed to the Store, per stack UID, and
//     the next pass of that stack starts only once the cache shows every one of
//     them (Store.Caught), else it is requeued;
//   - a stack that is gone is forgotten (Store.ForgetName).
//
// Besides the writes, the Store keeps for each stack a value of the caller's type
// T: what a pass read past the cache and a later pass may reuse. Nothing else of
// a stack lives in the operator's memory between passes but metrics.
package consistency

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Key names one object of one kind.
type Key struct {
	GVK             schema.GroupVersionKind
	Namespace, Name string
}

func (k Key) String() string {
	if k.Namespace == "" {
		return k.GVK.Kind + " " + k.Name
	}
	return k.GVK.Kind + " " + k.Namespace + "/" + k.Name
}

// write is one write as the cache must come to show it.
type write struct {
	// object is the object as the apiserver returned it; nil for a deletion.
	object client.Object
	// resourceVersion the write produced; for a deletion, uid is the object's
	// that was deleted.
	resourceVersion string
	uid             types.UID
	deleted         bool
	at              time.Time
}

// Writes are the writes of one pass of one stack. Its methods are safe for
// concurrent use: a pass applies the objects of a phase at once.
type Writes struct {
	mu     sync.Mutex
	scheme *runtime.Scheme
	now    func() time.Time
	writes map[Key]write
}

// NewWrites starts the record of one pass; now is the caller's clock.
func NewWrites(scheme *runtime.Scheme, now func() time.Time) *Writes {
	return &Writes{scheme: scheme, now: now, writes: map[Key]write{}}
}

type passKey struct{}

// WithWrites returns a context whose writes through a Client are recorded in w.
func WithWrites(ctx context.Context, w *Writes) context.Context {
	return context.WithValue(ctx, passKey{}, w)
}

// FromContext is the Writes of the pass ctx belongs to, or nil.
func FromContext(ctx context.Context) *Writes {
	w, _ := ctx.Value(passKey{}).(*Writes)
	return w
}

// keyOf names obj; a typed object without apiVersion and kind is named by its Go
// type through the scheme.
func (w *Writes) keyOf(obj client.Object) (Key, bool) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" {
		var err error
		if gvk, err = apiutil.GVKForObject(obj, w.scheme); err != nil {
			return Key{}, false
		}
	}
	return Key{GVK: gvk, Namespace: obj.GetNamespace(), Name: obj.GetName()}, true
}

// Wrote records obj as a write returned it (its resourceVersion is what the
// write produced). A copy is kept.
func (w *Writes) Wrote(obj client.Object) {
	k, ok := w.keyOf(obj)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if prev, ok := w.writes[k]; ok && !prev.deleted && older(obj.GetResourceVersion(), prev.resourceVersion) {
		return // two writes of one object in a pass: the later one counts
	}
	w.writes[k] = write{object: obj.DeepCopyObject().(client.Object), resourceVersion: obj.GetResourceVersion(),
		uid: obj.GetUID(), at: w.now()}
}

// Deleted records the deletion of obj (with its UID).
func (w *Writes) Deleted(obj client.Object) {
	k, ok := w.keyOf(obj)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes[k] = write{uid: obj.GetUID(), deleted: true, at: w.now()}
}

// Len is how many objects the pass wrote.
func (w *Writes) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.writes)
}

// Written is one write of a pass.
type Written struct {
	Key Key
	// Object is the object as the write returned it; nil for a deletion.
	Object client.Object
	// Deleted tells a deletion (of the object with UID).
	Deleted bool
	UID     types.UID
}

// All lists the pass's writes, the last write of each object, in no particular
// order.
func (w *Writes) All() []Written {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Written, 0, len(w.writes))
	for k, wr := range w.writes {
		out = append(out, Written{Key: k, Object: wr.object, Deleted: wr.deleted, UID: wr.uid})
	}
	return out
}

// written is the object the pass wrote under k, if any.
func (w *Writes) written(k Key) (write, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wr, ok := w.writes[k]
	return wr, ok
}

// Reader reads through r, but Get reads an object this pass wrote as written while
// r shows an older copy of it (or none), and one it deleted as gone. List reads r
// as it is: a pass lists only what it does not write (pods, a StatefulSet's
// claims) after it has written.
func (w *Writes) Reader(r client.Reader) client.Reader {
	return &reader{Reader: r, w: w}
}

type reader struct {
	client.Reader
	w *Writes
}

func (r *reader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	err := r.Reader.Get(ctx, key, obj, opts...)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	k, ok := r.w.keyOf(obj)
	if !ok {
		return err
	}
	k.Namespace, k.Name = key.Namespace, key.Name
	wr, ok := r.w.written(k)
	switch {
	case !ok:
		return err
	case wr.deleted:
		if err == nil && obj.GetUID() == wr.uid {
			gr := schema.GroupResource{Group: k.GVK.Group, Resource: k.GVK.Kind}
			return apierrors.NewNotFound(gr, key.Name)
		}
		return err
	case err == nil && !older(obj.GetResourceVersion(), wr.resourceVersion):
		return nil // the cache has caught up
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	if err := copyInto(r.w.scheme, wr.object, obj); err != nil {
		return fmt.Errorf("read %s as this pass wrote it: %w", k, err)
	}
	if !gvk.Empty() {
		obj.GetObjectKind().SetGroupVersionKind(gvk)
	}
	return nil
}

// copyInto copies src into dst, which may be of another Go type (an
// unstructured object into a typed one, as an apply returns it).
func copyInto(scheme *runtime.Scheme, src, dst client.Object) error {
	if u, ok := dst.(runtime.Unstructured); ok {
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(src)
		if err != nil {
			return err
		}
		u.SetUnstructuredContent(content)
		return nil
	}
	if su, ok := src.(runtime.Unstructured); ok {
		return runtime.DefaultUnstructuredConverter.FromUnstructured(su.UnstructuredContent(), dst)
	}
	return scheme.Convert(src, dst, nil)
}

// Store keeps, per stack UID, the writes of the stack's last pass until the
// cache shows them, and the caller's value T (what a pass read past the cache).
// Passes of one stack never run concurrently; the Store is safe for concurrent
// use across stacks.
type Store[T any] struct {
	// MaxLag bounds how long a write may stay unseen before it is given up on
	// (logged by the caller): an object deleted by someone else right after the
	// operator wrote it never shows in the cache at that version.
	MaxLag time.Duration

	mu     sync.Mutex
	stacks map[types.UID]*entry[T]
	// names maps a stack's name to its UID: a stack found gone (NotFound) is
	// known by its name only.
	names map[string]types.UID
}

type entry[T any] struct {
	writes map[Key]write
	value  T
}

// NewStore returns an empty Store.
func NewStore[T any]() *Store[T] {
	return &Store[T]{MaxLag: 30 * time.Second, stacks: map[types.UID]*entry[T]{}, names: map[string]types.UID{}}
}

// Track notes which UID the stack of a name has; what was kept for an earlier
// stack of that name (deleted and created again) is forgotten.
func (s *Store[T]) Track(name string, uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.names[name]; ok && prev != uid {
		delete(s.stacks, prev)
	}
	s.names[name] = uid
}

// ForgetName forgets the stack of that name: it is gone. It returns the UID it
// had, if the Store knew it.
func (s *Store[T]) ForgetName(name string) (types.UID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	uid, ok := s.names[name]
	delete(s.stacks, uid)
	delete(s.names, name)
	return uid, ok
}

func (s *Store[T]) entry(uid types.UID) *entry[T] {
	e := s.stacks[uid]
	if e == nil {
		e = &entry[T]{writes: map[Key]write{}}
		s.stacks[uid] = e
	}
	return e
}

// Commit adds a pass's writes to what the stack's next pass waits for.
func (s *Store[T]) Commit(uid types.UID, w *Writes) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.writes) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entry(uid)
	for k, wr := range w.writes {
		// What the gate compares is the resourceVersion (or the deleted UID): the
		// object itself served only the pass's own reads, and kept for hundreds of
		// stacks it would be most of the operator's memory.
		wr.object = nil
		e.writes[k] = wr
	}
}

// Behind is a write the cache does not show yet.
type Behind struct {
	Key Key
	// For is how long the cache has not shown it.
	For time.Duration
}

// Cache is the cache a pass reads, as the gate compares it with the writes.
type Cache struct {
	client.Reader
	// API reads past the cache: for an object the cache does not show.
	API    client.Reader
	Scheme *runtime.Scheme
	// Holds tells whether the cache holds an object as the apiserver has it (its
	// metadata): a cache narrowed by a label selector never shows an object
	// written without that label.
	Holds func(client.Object) bool
}

// Caught tells whether the cache shows every write the stack's passes made (for
// a deletion: the object gone, replaced, or being deleted). Writes it shows are
// dropped. An object the cache does not show is read from the apiserver: gone
// there too, or not one the cache holds, its write is done with. A write unseen
// for longer than MaxLag is dropped and returned in expired, for the caller to
// log. The first write still unseen is returned in behind.
func (s *Store[T]) Caught(
	ctx context.Context, uid types.UID, cache Cache, now time.Time,
) (behind *Behind, expired []Behind, err error) {
	s.mu.Lock()
	e := s.stacks[uid]
	var pending map[Key]write
	if e != nil {
		pending = make(map[Key]write, len(e.writes))
		for k, wr := range e.writes {
			pending[k] = wr
		}
	}
	s.mu.Unlock()
	var done []Key
	for k, wr := range pending {
		seen, err := shows(ctx, cache, k, wr)
		if err != nil {
			return nil, nil, err
		}
		switch lag := now.Sub(wr.at); {
		case seen:
			done = append(done, k)
		case lag > s.MaxLag:
			done = append(done, k)
			expired = append(expired, Behind{Key: k, For: lag})
		case behind == nil:
			behind = &Behind{Key: k, For: lag}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.stacks[uid]; e != nil {
		for _, k := range done {
			if cur, ok := e.writes[k]; ok && cur.at.Equal(pending[k].at) {
				delete(e.writes, k)
			}
		}
	}
	return behind, expired, nil
}

// shows tells whether cache shows the write wr to k.
func shows(ctx context.Context, cache Cache, k Key, wr write) (bool, error) {
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(k.GVK)
	typed, err := cache.Scheme.New(k.GVK)
	if err != nil {
		return false, fmt.Errorf("read %s from the cache: %w", k, err)
	}
	live := typed.(client.Object)
	err = cache.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: k.Name}, live)
	switch {
	case apierrors.IsNotFound(err):
		if wr.deleted {
			return true, nil
		}
		// Not created in the cache yet, deleted since by someone else, or not
		// one the cache holds: the apiserver tells which.
		err = cache.API.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: k.Name}, obj)
		switch {
		case apierrors.IsNotFound(err):
			return true, nil
		case err != nil:
			return false, err
		}
		return cache.Holds != nil && !cache.Holds(obj), nil
	case err != nil:
		return false, fmt.Errorf("read %s from the cache: %w", k, err)
	case wr.deleted:
		return live.GetUID() != wr.uid || live.GetDeletionTimestamp() != nil, nil
	}
	return !older(live.GetResourceVersion(), wr.resourceVersion), nil
}

// Value is the caller's value kept for the stack (the zero T at first); the
// pointer stays valid until the stack is forgotten.
func (s *Store[T]) Value(uid types.UID) *T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &s.entry(uid).value
}

// Len is how many stacks the Store keeps something for.
func (s *Store[T]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stacks)
}

// older reports whether a predates b, as the apiserver defines resource versions
// of one resource to compare (k8s.io/apimachinery/pkg/util/resourceversion); when
// either is not such a version, none is older.
func older(a, b string) bool {
	c, err := resourceversion.CompareResourceVersion(a, b)
	return err == nil && c < 0
}
