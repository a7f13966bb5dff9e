package main

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/test/utils"
)

// envRunMain makes the test binary run the plugin's main instead of the tests, so
// that a test can run the plugin as a user does and read its exit code.
const envRunMain = "KUBECTL_APPSTACK_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	if envtestStop != nil {
		_ = envtestStop()
	}
	os.Exit(code)
}

// The apiserver of the tests that need one: envtest's etcd and kube-apiserver
// (bin/, make tools-envtest), started by the first of them.
var (
	envtestOnce   sync.Once
	envtestCfg    *rest.Config
	envtestClient client.Client
	envtestStop   func() error
	envtestErr    error
)

// apiServer is envtest's apiserver, started on first use and stopped after the
// tests, with the admin's configuration and a client.
func apiServer(t *testing.T) (*rest.Config, client.Client) {
	t.Helper()
	envtestOnce.Do(func() {
		scheme := runtime.NewScheme()
		utilruntime.Must(clientgoscheme.AddToScheme(scheme))
		utilruntime.Must(appstackv1.AddToScheme(scheme))
		envtestCfg, envtestClient, envtestStop, envtestErr = utils.StartEnvtest(filepath.Join("..", ".."), scheme)
	})
	if envtestErr != nil {
		t.Fatal(envtestErr)
	}
	return envtestCfg, envtestClient
}
