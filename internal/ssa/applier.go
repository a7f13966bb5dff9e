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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
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
// autoscaler), does not. The Applier keeps no memory of earlier applies: a
// restarted operator sends nothing for objects that are already right, and the
// caller makes sure the cache shows its own last writes before it applies again
// (internal/consistency).
type Applier struct {
	client     client.Client
	fieldOwner string
}

// Result is what an Apply did.
type Result struct {
	// Sent tells whether a request was sent: the live object was absent or did not
	// hold what the desired object sets.
	Sent bool
	// Restored tells, of a sent apply, that the live object carries the hash of
	// the very content applied: nothing the operator wants changed, so someone
	// else edited it and the apply put it back (drift). An object that was absent
	// is not known to be a restore here: the caller knows from its inventory.
	Restored bool
	// Created tells that the object was absent.
	Created bool
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
	return &Applier{client: c, fieldOwner: fieldOwner}
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
	res := Result{Sent: true}
	switch {
	case err == nil:
		if upToDate(key, hash, desired.Object, live) {
			obj.SetUID(live.GetUID())
			return Result{}, nil
		}
		res.Restored = live.GetAnnotations()[AnnotationAppliedHash] == hash
		// The apply changes only the object read: one deleted and made again by
		// someone else since is refused by the apiserver (its uid is immutable).
		desired.SetUID(live.GetUID())
	case apierrors.IsNotFound(err):
		res.Created = true
	default:
		return Result{}, fmt.Errorf("read %s %s/%s: %w", gvk.Kind, key.namespace, key.name, err)
	}

	if err := a.send(ctx, desired); err != nil {
		return res, fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, key.namespace, key.name, err)
	}
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
	if _, err := stampHash(obj); err != nil {
		return err
	}
	created := obj.DeepCopyObject().(client.Object)
	if err := a.client.Create(ctx, created, client.FieldOwner(a.fieldOwner)); err != nil {
		return err
	}
	obj.SetUID(created.GetUID())
	return nil
}

// upToDate tells whether live already is what applying desired would make it.
func upToDate(key objectKey, hash string, desired map[string]any, live client.Object) bool {
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
