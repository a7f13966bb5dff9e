package controller

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// The suite runs the reconciler in a real manager against envtest's etcd and
// kube-apiserver (built by hack/tools.sh into bin/, found through
// KUBEBUILDER_ASSETS). There is no kube-controller-manager here: workload status is
// written by the tests, and nothing is garbage-collected.

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	scheme    = runtime.NewScheme()
	// mgrCache is the manager's cache, to look at what it holds; apiReads counts
	// the reconciler's reads past it.
	mgrCache cache.Cache
	apiReads *readCounter
)

// readCounter counts the reads made through it, by namespace.
type readCounter struct {
	client.Reader
	mu   sync.Mutex
	byNS map[string]int
}

func (c *readCounter) count(ns string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byNS[ns]++
}

// reads is how many reads went to namespace ns so far.
func (c *readCounter) reads(ns string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byNS[ns]
}

func (c *readCounter) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.count(key.Namespace)
	return c.Reader.Get(ctx, key, obj, opts...)
}

func (c *readCounter) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	c.count(lo.Namespace)
	return c.Reader.List(ctx, list, opts...)
}

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())

	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(appstackv1.AddToScheme(scheme))

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		testEnv.BinaryAssetsDirectory = filepath.Join("..", "..", "bin")
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "start envtest; run `make tools-envtest` to build etcd and kube-apiserver into bin/")

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:    scheme,
		Metrics:   metricsserver.Options{BindAddress: "0"},
		NewCache:  NewCache(10 * time.Hour),
		NewClient: NewClient,
	})
	Expect(err).NotTo(HaveOccurred())
	mgrCache = mgr.GetCache()
	apiReads = &readCounter{Reader: mgr.GetAPIReader(), byNS: map[string]int{}}
	Expect((&AppStackReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               apiReads,
		Recorder:                mgr.GetEventRecorder(render.ManagedBy),
		MaxConcurrentReconciles: 2,
		// Short, so that the suite goes through the batching path without waiting long.
		BatchPeriod: 200 * time.Millisecond,
	}).SetupWithManager(mgr)).To(Succeed())

	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	cancel()
	Expect(testEnv.Stop()).To(Succeed())
})
