package utils

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// RunWithEnvtest is a TestMain's body for a suite against envtest's apiserver:
// it starts envtest (StartEnvtest), hands setup the admin's configuration and a
// client with scheme, runs the tests (m is the *testing.M), stops envtest and
// returns the exit code. A failure to start or set up is printed and fails the
// suite.
func RunWithEnvtest(m interface{ Run() int }, root string, scheme *runtime.Scheme,
	setup func(*rest.Config, client.Client) error) int {
	cfg, c, stop, err := StartEnvtest(root, scheme)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = stop() }()
	if err := setup(cfg, c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// StartEnvtest starts envtest's etcd and kube-apiserver (from root's bin/, which
// make tools-envtest fills, unless KUBEBUILDER_ASSETS names another place) with
// the CRDs of root's config/crd/bases installed, and returns its configuration
// (the admin's), a client with scheme, and the function that stops it.
func StartEnvtest(root string, scheme *runtime.Scheme) (*rest.Config, client.Client, func() error, error) {
	env := &envtest.Environment{
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths: []string{filepath.Join(root, "config", "crd", "bases")}, ErrorIfPathMissing: true,
		},
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		env.BinaryAssetsDirectory = filepath.Join(root, "bin")
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("start envtest (make tools-envtest builds etcd and kube-apiserver into bin/): %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, nil, nil, fmt.Errorf("client for envtest: %w", err)
	}
	return cfg, c, env.Stop, nil
}
