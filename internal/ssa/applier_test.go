package ssa

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// cacheStub plays the cached client: Get returns the object at cachedRV (or
// NotFound when empty), and every Apply produces appliedRV.
type cacheStub struct {
	client.Client
	cachedRV, appliedRV string
	applies             int
}

func (c *cacheStub) Scheme() *runtime.Scheme { return clientgoscheme.Scheme }

func (c *cacheStub) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	if c.cachedRV == "" {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "deployments"}, key.Name)
	}
	obj.SetName(key.Name)
	obj.SetNamespace(key.Namespace)
	obj.SetResourceVersion(c.cachedRV)
	return nil
}

func (c *cacheStub) Apply(_ context.Context, obj runtime.ApplyConfiguration, _ ...client.ApplyOption) error {
	c.applies++
	obj.(interface{ SetResourceVersion(string) }).SetResourceVersion(c.appliedRV)
	return nil
}

func TestRestored(t *testing.T) {
	ctx := context.Background()
	web := func(image string) *appsv1.Deployment {
		d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "web", Image: image}}
		return d
	}
	c := &cacheStub{appliedRV: "7"}
	a := NewApplier(c, "test")
	apply := func(obj client.Object) Result {
		t.Helper()
		res, err := a.ApplyResult(ctx, obj)
		if err != nil || !res.Sent {
			t.Fatalf("apply: %+v err=%v", res, err)
		}
		return res
	}
	// The stub never holds the object (NotFound): a creation, which the Applier
	// cannot tell from a restore of a deleted object (its caller can, from the
	// stack's inventory).
	if res := apply(web("v1")); res.Restored || !res.Created {
		t.Errorf("an absent object: %+v, want created and not known restored", res)
	}
	// A live object that carries the hash of the content applied now but does not
	// hold it was edited by someone: a restarted operator that never applied it
	// recognises it by the annotation.
	fresh := NewApplier(&annotatedStub{cacheStub: cacheStub{cachedRV: "5", appliedRV: "4"}, from: web("v3")}, "test")
	if res, err := fresh.ApplyResult(ctx, web("v3")); err != nil || !res.Sent || !res.Restored {
		t.Errorf("an edited object carrying the applied hash: %+v err=%v, want a restore", res, err)
	}
	if res, err := fresh.ApplyResult(ctx, web("v4")); err != nil || !res.Sent || res.Restored {
		t.Errorf("an object carrying the hash of other content: %+v err=%v, want a plain apply", res, err)
	}
}

// annotatedStub holds an object that carries the applied hash of from but none of
// its spec: someone edited it after it was applied.
type annotatedStub struct {
	cacheStub
	from client.Object
	// kind and revision, when set, are the cached object's kind (as the cache sets
	// it) and a ControllerRevision's number.
	kind     string
	revision int64
}

func (c *annotatedStub) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := c.cacheStub.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	hash, err := hashOf(c.from)
	if err != nil {
		return err
	}
	obj.SetAnnotations(map[string]string{AnnotationAppliedHash: hash})
	if c.kind != "" {
		obj.GetObjectKind().SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind(c.kind))
	}
	if cr, ok := obj.(*appsv1.ControllerRevision); ok {
		cr.Revision = c.revision
	}
	return nil
}

// TestRevisionWithoutItsData: the operator caches ControllerRevisions without the
// spec they record. A revision that carries the applied hash of what would be
// applied is up to date — its data is immutable — and is not applied again at
// every pass; one that carries another hash is applied.
func TestRevisionWithoutItsData(t *testing.T) {
	ctx := context.Background()
	rev := func(spec string) *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ControllerRevision"},
			ObjectMeta: metav1.ObjectMeta{Name: "shop-abc", Namespace: "shop"},
			Data:       runtime.RawExtension{Raw: []byte(`{"spec":` + spec + `}`)}, Revision: 3}
	}
	for _, tt := range []struct {
		applied, desired string
		sent             bool
	}{
		{`{"paused":false}`, `{"paused":false}`, false},
		{`{"paused":false}`, `{"paused":true}`, true},
	} {
		// The cached revision: identity, number and applied hash, no data.
		c := &annotatedStub{cacheStub: cacheStub{cachedRV: "5", appliedRV: "6"}, from: rev(tt.applied)}
		c.kind = "ControllerRevision"
		c.revision = 3
		sent, err := NewApplier(c, "test").Apply(ctx, rev(tt.desired))
		if err != nil || sent != tt.sent {
			t.Errorf("revision applied with %s, cached without its data, applying %s: sent=%v err=%v, want sent=%v",
				tt.applied, tt.desired, sent, err, tt.sent)
		}
	}
}
