// Package ssa applies desired objects with server-side apply and skips the request
// when the object on the cluster is still the one this process last applied. That
// is what keeps a converged operator at zero writes.
package ssa

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/appstack-dev/appstack-operator/internal/manifest"
)

// Applier applies objects as one field manager, forcing ownership of the fields it
// sets. It remembers, per object, the hash of what it applied and the object's
// generation (or resourceVersion, for kinds without one) that the apply produced.
// When the desired object hashes the same and the live object (read from the
// informer cache) has not been changed since, the apply is skipped. Anything else —
// a spec edit, a scale, a deleted-and-recreated object, a removed label — changes the
// live object and makes the next pass apply again, which restores it.
type Applier struct {
	client     client.Client
	fieldOwner string

	mu      sync.Mutex
	applied map[objectKey]record
}

type objectKey struct {
	gvk       schema.GroupVersionKind
	namespace string
	name      string
}

type record struct {
	hash string
	uid  types.UID
	// generation is set for kinds whose generation tracks spec changes; otherwise
	// resourceVersion stands in for it.
	generation      int64
	resourceVersion string
}

// NewApplier returns an Applier that reads live objects through c (normally the
// manager's cached client) and applies as fieldOwner.
func NewApplier(c client.Client, fieldOwner string) *Applier {
	return &Applier{client: c, fieldOwner: fieldOwner, applied: map[objectKey]record{}}
}

// Apply server-side-applies obj unless the live object is unchanged since this
// Applier last applied the same content. obj must carry its apiVersion and kind. It
// reports whether a request was sent.
func (a *Applier) Apply(ctx context.Context, obj client.Object) (bool, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" {
		return false, fmt.Errorf("apply %T %s: object has no apiVersion/kind", obj, obj.GetName())
	}
	key := objectKey{gvk: gvk, namespace: obj.GetNamespace(), name: obj.GetName()}
	hash, err := hashOf(obj)
	if err != nil {
		return false, err
	}

	live := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(client.Object)
	err = a.client.Get(ctx, client.ObjectKeyFromObject(obj), live)
	switch {
	case err == nil:
		if a.unchanged(key, hash, obj, live) {
			return false, nil
		}
	case !apierrors.IsNotFound(err):
		return false, fmt.Errorf("read %s %s/%s: %w", gvk.Kind, key.namespace, key.name, err)
	}

	u, err := manifest.Unstructured(obj)
	if err != nil {
		return false, err
	}
	if err := a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(a.fieldOwner), client.ForceOwnership); err != nil {
		a.Forget(obj)
		return true, fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, key.namespace, key.name, err)
	}
	a.mu.Lock()
	a.applied[key] = record{hash: hash, uid: u.GetUID(), generation: u.GetGeneration(), resourceVersion: u.GetResourceVersion()}
	a.mu.Unlock()
	return true, nil
}

// Forget drops what the Applier remembers of obj, so the next Apply sends it.
func (a *Applier) Forget(obj client.Object) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.applied, objectKey{gvk: obj.GetObjectKind().GroupVersionKind(), namespace: obj.GetNamespace(), name: obj.GetName()})
}

// unchanged tells whether live is still what the last apply of the same desired
// content left behind.
func (a *Applier) unchanged(key objectKey, hash string, desired, live client.Object) bool {
	a.mu.Lock()
	rec, ok := a.applied[key]
	a.mu.Unlock()
	if !ok || rec.hash != hash || rec.uid != live.GetUID() {
		return false
	}
	if rec.generation > 0 {
		// A live generation below the recorded one is the informer not having caught
		// up with our own apply yet; its event will bring us back.
		if live.GetGeneration() > rec.generation {
			return false
		}
	} else if newerResourceVersion(live.GetResourceVersion(), rec.resourceVersion) {
		return false
	}
	// Metadata edits do not bump the generation: check ours survived.
	return subset(desired.GetLabels(), live.GetLabels()) &&
		subset(desired.GetAnnotations(), live.GetAnnotations()) &&
		ownersPresent(desired, live)
}

// newerResourceVersion reports whether live is newer than recorded. Resource
// versions are opaque; when either does not parse as an integer, any difference
// counts as newer.
func newerResourceVersion(live, recorded string) bool {
	l, errL := strconv.ParseUint(live, 10, 64)
	r, errR := strconv.ParseUint(recorded, 10, 64)
	if errL != nil || errR != nil {
		return live != recorded
	}
	return l > r
}

func subset(want, have map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

func ownersPresent(desired, live client.Object) bool {
	for _, want := range desired.GetOwnerReferences() {
		if !slices.ContainsFunc(live.GetOwnerReferences(), func(have metav1.OwnerReference) bool {
			return have.UID == want.UID && ptr.Equal(have.Controller, want.Controller)
		}) {
			return false
		}
	}
	return true
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
