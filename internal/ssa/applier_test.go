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

func TestLags(t *testing.T) {
	ctx := context.Background()
	web := func() *appsv1.Deployment {
		return &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}}
	}
	c := &cacheStub{appliedRV: "7"}
	a := NewApplier(c, "test")
	if a.Lags(ctx, web()) {
		t.Error("an object never applied does not lag")
	}
	if sent, err := a.Apply(ctx, web()); err != nil || !sent || c.applies != 1 {
		t.Fatalf("apply of a missing object: sent=%v err=%v applies=%d", sent, err, c.applies)
	}
	if a.Lags(ctx, web()) {
		t.Error("an object the cache does not hold (yet, or any more) does not lag: its event is what counts")
	}
	c.cachedRV = "6"
	if !a.Lags(ctx, web()) {
		t.Error("the cache holds resourceVersion 6, the apply produced 7: it lags")
	}
	c.cachedRV = "7"
	if a.Lags(ctx, web()) {
		t.Error("the cache caught up with the apply")
	}
	c.cachedRV = "9"
	if a.Lags(ctx, web()) {
		t.Error("the cache is past the apply (someone else wrote since)")
	}
}

func TestOlderResourceVersion(t *testing.T) {
	tests := []struct {
		live, recorded string
		want           bool
	}{
		{"6", "7", true},
		{"7", "7", false},
		{"9", "7", false},
		{"99", "100", true},  // numerically, not as text
		{"100", "99", false}, // numerically, not as text
		{"18446744073709551616", "18446744073709551617", true}, // past uint64
		// Not resource versions the apiserver compares: none is older.
		{"", "7", false},
		{"7", "", false},
		{"abc", "7", false},
		{"0", "7", false},
		{"06", "7", false},
		{"-1", "7", false},
	}
	for _, tt := range tests {
		if got := OlderResourceVersion(tt.live, tt.recorded); got != tt.want {
			t.Errorf("OlderResourceVersion(%q, %q) = %v, want %v", tt.live, tt.recorded, got, tt.want)
		}
	}
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
	// The stub never holds the object (NotFound), as after someone deleted it.
	if apply(web("v1")).Restored {
		t.Error("a first creation is not a restore")
	}
	if !apply(web("v1")).Restored {
		t.Error("creating again what was applied with the same content is a restore: someone deleted it")
	}
	if apply(web("v2")).Restored {
		t.Error("applying changed content is not a restore")
	}
	a.Forget(web("v2"))
	if apply(web("v2")).Restored {
		t.Error("an object the Applier forgot (pruned, replaced) is created anew, not restored")
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
