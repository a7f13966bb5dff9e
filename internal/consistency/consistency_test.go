package consistency

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func deployment(rv string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "d1", ResourceVersion: rv,
			Labels: map[string]string{"managed": "yes"}},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas},
	}
}

// cacheAt plays the cache: it holds obj (nil: nothing).
func cacheAt(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	b := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme)
	for _, o := range objs {
		b = b.WithObjects(o)
	}
	return b.Build()
}

// fixedRV serves obj as stored, resourceVersion included (the fake client
// rewrites resourceVersions on create).
type fixedRV struct {
	client.Client
	objs map[string]client.Object
}

func (f *fixedRV) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	o, ok := f.objs[key.String()]
	if !ok {
		return apierrors.NewNotFound(appsv1.Resource("deployments"), key.Name)
	}
	if p, ok := obj.(*metav1.PartialObjectMetadata); ok {
		o.(metav1.Object).(*appsv1.Deployment).ObjectMeta.DeepCopyInto(&p.ObjectMeta)
		return nil
	}
	return clientgoscheme.Scheme.Convert(o.DeepCopyObject(), obj, nil)
}

func holding(objs ...client.Object) *fixedRV {
	f := &fixedRV{objs: map[string]client.Object{}}
	for _, o := range objs {
		f.objs[client.ObjectKeyFromObject(o).String()] = o
	}
	return f
}

// managed plays the cache's label selector.
func managed(obj client.Object) bool { return obj.GetLabels()["managed"] == "yes" }

func unlabelled(d *appsv1.Deployment) *appsv1.Deployment {
	d.Labels = nil
	return d
}

func TestCaught(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	tests := []struct {
		name        string
		cache, api  client.Reader
		deleted     bool
		at          time.Time
		wantBehind  bool
		wantExpired bool
	}{
		{name: "the cache shows the write", cache: holding(deployment("7", 2)), api: holding(), at: now},
		{name: "the cache is past the write (someone wrote since)", cache: holding(deployment("9", 3)), api: holding(), at: now},
		{name: "the cache is older", cache: holding(deployment("6", 1)), api: holding(), at: now, wantBehind: true},
		{name: "the cache has not seen the creation", cache: holding(), api: holding(deployment("7", 2)), at: now, wantBehind: true},
		{name: "gone from the cache and the apiserver: deleted by someone since", cache: holding(), api: holding(), at: now},
		{name: "written without the label the cache selects on: never in the cache", cache: holding(),
			api: holding(unlabelled(deployment("7", 2))), at: now},
		{name: "older for longer than MaxLag: given up on", cache: holding(deployment("6", 1)), api: holding(),
			at: now.Add(-time.Minute), wantExpired: true},
		{name: "a deletion the cache shows", cache: holding(), api: holding(), deleted: true, at: now},
		{name: "a deletion the cache does not show yet", cache: holding(deployment("6", 1)), api: holding(),
			deleted: true, at: now, wantBehind: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore[int]()
			w := NewWrites(clientgoscheme.Scheme, func() time.Time { return tt.at })
			if tt.deleted {
				w.Deleted(deployment("7", 2))
			} else {
				w.Wrote(deployment("7", 2))
			}
			s.Commit("u1", w)
			behind, expired, err := s.Caught(ctx, "u1", Cache{Reader: tt.cache, API: tt.api, Scheme: clientgoscheme.Scheme, Holds: managed}, now)
			if err != nil {
				t.Fatal(err)
			}
			if (behind != nil) != tt.wantBehind || (len(expired) > 0) != tt.wantExpired {
				t.Fatalf("behind=%v expired=%v, want behind %v expired %v", behind, expired, tt.wantBehind, tt.wantExpired)
			}
			// What the cache showed is done with: asked again, nothing is pending.
			again, _, err := s.Caught(ctx, "u1", Cache{Reader: tt.cache, API: tt.api, Scheme: clientgoscheme.Scheme, Holds: managed}, now)
			if err != nil {
				t.Fatal(err)
			}
			if (again != nil) != tt.wantBehind {
				t.Errorf("asked again: behind=%v, want %v", again, tt.wantBehind)
			}
		})
	}
}

func TestForget(t *testing.T) {
	s := NewStore[string]()
	s.Track("shop", "u1")
	*s.Value("u1") = "kept"
	w := NewWrites(clientgoscheme.Scheme, time.Now)
	w.Wrote(deployment("7", 2))
	s.Commit("u1", w)
	s.Track("shop", "u2") // deleted and created again
	if got := *s.Value("u2"); got != "" {
		t.Errorf("a new stack of the name starts empty, got %q", got)
	}
	if s.Len() != 1 {
		t.Errorf("the earlier stack of the name is forgotten: %d kept", s.Len())
	}
	s.ForgetName("shop")
	if s.Len() != 0 {
		t.Errorf("a stack found gone is forgotten: %d kept", s.Len())
	}
}

// TestReader: a pass reads what it wrote, as written, until the cache shows it;
// what it deleted reads as gone.
func TestReader(t *testing.T) {
	ctx := context.Background()
	w := NewWrites(clientgoscheme.Scheme, time.Now)
	applied := &unstructured.Unstructured{}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(deployment("7", 3))
	if err != nil {
		t.Fatal(err)
	}
	applied.SetUnstructuredContent(content)
	w.Wrote(applied) // as an apply returns it

	got := &appsv1.Deployment{}
	if err := w.Reader(holding(deployment("6", 1))).Get(ctx, client.ObjectKey{Namespace: "shop", Name: "web"}, got); err != nil {
		t.Fatal(err)
	}
	if *got.Spec.Replicas != 3 || got.ResourceVersion != "7" {
		t.Errorf("an older cache reads as written: replicas %d at %s", *got.Spec.Replicas, got.ResourceVersion)
	}
	if err := w.Reader(holding()).Get(ctx, client.ObjectKey{Namespace: "shop", Name: "web"}, got); err != nil {
		t.Errorf("a creation the cache has not seen reads as written: %v", err)
	}
	if err := w.Reader(holding(deployment("8", 5))).Get(ctx, client.ObjectKey{Namespace: "shop", Name: "web"}, got); err != nil ||
		*got.Spec.Replicas != 5 {
		t.Errorf("a cache past the write reads from the cache: %v, replicas %d", err, *got.Spec.Replicas)
	}

	claim := &corev1.PersistentVolumeClaim{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "shop", UID: "c1", ResourceVersion: "4"}}
	w.Deleted(claim)
	err = w.Reader(holding(claim)).Get(ctx, client.ObjectKeyFromObject(claim), &corev1.PersistentVolumeClaim{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("a deleted object reads as gone, got %v", err)
	}
}

// TestClient: writes through the Client are recorded in the pass of the
// context, the status included; outside a pass nothing is.
func TestClient(t *testing.T) {
	ctx := context.Background()
	c := NewClient(cacheAt(t))
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "shop"}}
	w := NewWrites(clientgoscheme.Scheme, time.Now)
	if err := c.Create(WithWrites(ctx, w), cm); err != nil {
		t.Fatal(err)
	}
	if w.Len() != 1 {
		t.Fatalf("a create in a pass is recorded: %d", w.Len())
	}
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "shop"}}
	if err := c.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	if w.Len() != 1 {
		t.Errorf("a write outside the pass is not recorded: %d", w.Len())
	}
	s := NewStore[int]()
	s.Commit(types.UID("u1"), w)
	behind, _, err := s.Caught(ctx, "u1", Cache{Reader: c, API: c, Scheme: clientgoscheme.Scheme}, time.Now())
	if err != nil || behind != nil {
		t.Errorf("the fake client shows its own write at once: behind=%v err=%v", behind, err)
	}
}
