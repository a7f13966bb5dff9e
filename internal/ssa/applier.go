// Package ssa applies desired objects with server-side apply and skips the request
// when the object on the cluster already is what would be applied. That is what
// keeps a converged operator at zero writes, across resyncs and restarts.
package ssa

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/appstack-dev/appstack-operator/internal/manifest"
)

// AnnotationAppliedHash on an applied object is the hash of the desired content it
// was last applied with.
const AnnotationAppliedHash = "apps.appstack.dev/applied-hash"

// Applier applies objects as one field manager, forcing ownership of the fields it
// sets. Each applied object carries the hash of its desired content in an
// annotation. An apply is skipped when the live object (read from the informer
// cache) carries the same hash and still holds every field the desired object
// sets: a spec edit, a scale, a set image, a removed label, a deleted object all
// make the next pass apply, which restores it; a controller writing status, or
// someone setting a field the operator does not set (replicas under an
// autoscaler), does not. Because the check needs no memory of earlier applies, a
// restarted operator sends nothing for objects that are already right.
type Applier struct {
	client     client.Client
	fieldOwner string

	// applied remembers the resourceVersion each apply produced, only to recognise
	// a cache that has not caught up with our own write yet; hashes the desired
	// content each object was last applied with (or seen holding), to tell a
	// restored object from a changed one.
	mu      sync.Mutex
	applied map[objectKey]string
	hashes  map[objectKey]string
}

// Result is what an Apply did.
type Result struct {
	// Sent tells whether a request was sent: the live object was absent or did not
	// hold what the desired object sets.
	Sent bool
	// Restored tells, of a sent apply, that the desired content is the content the
	// object was last applied with: nothing the operator wants changed, so someone
	// else edited or deleted the object and the apply put it back (drift). A first
	// creation, or an apply of changed desired content, is not a restore. After a
	// restart, an object deleted before this Applier saw it is not recognised.
	Restored bool
}

type objectKey struct {
	gvk       schema.GroupVersionKind
	namespace string
	name      string
}

func keyOf(obj client.Object) objectKey {
	return objectKey{gvk: obj.GetObjectKind().GroupVersionKind(), namespace: obj.GetNamespace(), name: obj.GetName()}
}

// NewApplier returns an Applier that reads live objects through c (normally the
// manager's cached client) and applies as fieldOwner.
func NewApplier(c client.Client, fieldOwner string) *Applier {
	return &Applier{client: c, fieldOwner: fieldOwner, applied: map[objectKey]string{}, hashes: map[objectKey]string{}}
}

// Apply server-side-applies obj unless the live object already holds it. obj must
// carry its apiVersion and kind; Apply adds the applied-hash annotation to it and
// sets its UID to the live object's. It reports whether a request was sent.
func (a *Applier) Apply(ctx context.Context, obj client.Object) (bool, error) {
	res, err := a.ApplyResult(ctx, obj)
	return res.Sent, err
}

// ApplyResult is Apply, reporting also whether the apply restored an object
// someone else changed or deleted.
func (a *Applier) ApplyResult(ctx context.Context, obj client.Object) (Result, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" {
		return Result{}, fmt.Errorf("apply %T %s: object has no apiVersion/kind", obj, obj.GetName())
	}
	key := keyOf(obj)
	hash, err := stampHash(obj)
	if err != nil {
		return Result{}, err
	}

	desired, err := manifest.Unstructured(obj)
	if err != nil {
		return Result{}, err
	}
	live := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(client.Object)
	err = a.client.Get(ctx, client.ObjectKeyFromObject(obj), live)
	res := Result{Sent: true, Restored: a.lastHash(key) == hash}
	switch {
	case err == nil:
		if a.upToDate(key, hash, desired.Object, live) {
			if live.GetAnnotations()[AnnotationAppliedHash] == hash {
				a.setLastHash(key, hash)
			}
			obj.SetUID(live.GetUID())
			return Result{}, nil
		}
		res.Restored = res.Restored || live.GetAnnotations()[AnnotationAppliedHash] == hash
		// The apply changes only the object read: one deleted and made again by
		// someone else since is refused by the apiserver (its uid is immutable).
		desired.SetUID(live.GetUID())
	case !apierrors.IsNotFound(err):
		return Result{}, fmt.Errorf("read %s %s/%s: %w", gvk.Kind, key.namespace, key.name, err)
	}

	if err := a.send(ctx, desired); err != nil {
		return res, fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, key.namespace, key.name, err)
	}
	a.mu.Lock()
	a.applied[key] = desired.GetResourceVersion()
	a.hashes[key] = hash
	a.mu.Unlock()
	obj.SetUID(desired.GetUID())
	return res, nil
}

// send applies desired. When the object still holds fields through an update of
// the field owner — it was made by Create — those fields become the apply's
// (csaupgrade) and the apply is sent again: fields the desired object no longer
// sets are then removed, as they are from an object that was only ever applied.
// That happens once in an object's life, at its first change.
func (a *Applier) send(ctx context.Context, desired *unstructured.Unstructured) error {
	apply := func() error {
		return a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(desired),
			client.FieldOwner(a.fieldOwner), client.ForceOwnership)
	}
	body := desired.DeepCopy()
	if err := apply(); err != nil {
		return err
	}
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(desired, sets.New(a.fieldOwner), a.fieldOwner)
	if err != nil || patch == nil {
		return err
	}
	if err := a.client.Patch(ctx, desired, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return fmt.Errorf("move the fields set at creation to the field manager's apply: %w", err)
	}
	body.SetUID(desired.GetUID())
	*desired = *body
	return apply()
}

// Create creates obj, with the applied-hash annotation an Apply would give it, so
// that the next pass finds it up to date. It is for an object whose name must not
// be taken over: a create fails with AlreadyExists where an apply would write into
// someone else's object. obj must carry its apiVersion and kind.
func (a *Applier) Create(ctx context.Context, obj client.Object) error {
	hash, err := stampHash(obj)
	if err != nil {
		return err
	}
	key := keyOf(obj)
	created := obj.DeepCopyObject().(client.Object)
	if err := a.client.Create(ctx, created, client.FieldOwner(a.fieldOwner)); err != nil {
		return err
	}
	a.mu.Lock()
	a.applied[key] = created.GetResourceVersion()
	a.hashes[key] = hash
	a.mu.Unlock()
	obj.SetUID(created.GetUID())
	return nil
}

func (a *Applier) lastHash(key objectKey) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hashes[key]
}

func (a *Applier) setLastHash(key objectKey, hash string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hashes[key] = hash
}

// Lags reports whether the cache has not yet seen the last write this Applier made
// to obj (obj needs its apiVersion and kind): what is read from the cache about
// it would be older than what was applied. An object the Applier never wrote, or
// that the cache no longer holds, does not lag.
func (a *Applier) Lags(ctx context.Context, obj client.Object) bool {
	key := keyOf(obj)
	if _, ok := a.produced(key); !ok {
		return false
	}
	// A typed object: the cache serves it from the informer it already runs.
	o, err := a.client.Scheme().New(key.gvk)
	if err != nil {
		return false
	}
	live := o.(client.Object)
	if err := a.client.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
		return false
	}
	return a.behind(key, live)
}

// produced is the resourceVersion this Applier's last write to key produced.
func (a *Applier) produced(key objectKey) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rv, ok := a.applied[key]
	return rv, ok
}

// behind tells whether live, read from the cache, predates this Applier's last
// write to key.
func (a *Applier) behind(key objectKey, live client.Object) bool {
	rv, ok := a.produced(key)
	return ok && OlderResourceVersion(live.GetResourceVersion(), rv)
}

// Forget drops what the Applier remembers of obj.
func (a *Applier) Forget(obj client.Object) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.applied, keyOf(obj))
	delete(a.hashes, keyOf(obj))
}

// upToDate tells whether live already is what applying desired would make it.
func (a *Applier) upToDate(key objectKey, hash string, desired map[string]any, live client.Object) bool {
	if a.behind(key, live) {
		// The cache has not caught up with our own apply yet; its event will
		// bring us back.
		return true
	}
	if live.GetAnnotations()[AnnotationAppliedHash] != hash {
		return false
	}
	l, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return false
	}
	if key.gvk.Kind == "ControllerRevision" {
		// A revision's data is immutable (the apiserver refuses to change it) and
		// the applied hash covers it: the operator's cache keeps revisions without
		// it, so it is not compared.
		desired = maps.Clone(desired)
		delete(desired, "data")
	}
	return contains(l, desired)
}

// OlderResourceVersion reports whether live predates recorded: a cache that has not
// caught up with a write. It compares as the apiserver defines resource versions of
// one resource to compare (k8s.io/apimachinery/pkg/util/resourceversion); when
// either is not such a version, none is older.
func OlderResourceVersion(live, recorded string) bool {
	c, err := resourceversion.CompareResourceVersion(live, recorded)
	return err == nil && c < 0
}

// stampHash hashes obj's desired content and records the hash in its
// applied-hash annotation, as an Apply or a Create sends it.
func stampHash(obj client.Object) (string, error) {
	hash, err := hashOf(obj)
	if err != nil {
		return "", err
	}
	annotations := maps.Clone(obj.GetAnnotations())
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationAppliedHash] = hash
	obj.SetAnnotations(annotations)
	return hash, nil
}

// hashOf hashes the JSON form of obj; typed objects marshal deterministically.
func hashOf(obj client.Object) (string, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", obj.GetName(), err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}
