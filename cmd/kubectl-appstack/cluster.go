package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// clusterFlags are kubectl's own connection flags (k8s.io/cli-runtime's
// ConfigFlags: --kubeconfig, --context, --cluster, --user, --as, --as-group,
// --as-uid, --token, --server, --request-timeout, -n/--namespace, ...) for the
// commands that talk to a cluster. Add them with add before the command runs.
type clusterFlags struct {
	config *genericclioptions.ConfigFlags
	// command is the name of the command the flags belong to, for messages.
	command string
	// namespaced: the command uses -n/--namespace (read it with namespace). On any
	// other command, which works on cluster-scoped AppStacks, the flag is refused.
	namespaced bool
}

// usageClusterScoped replaces -n/--namespace's usage on the commands that refuse it.
const usageClusterScoped = "not used: AppStacks are cluster-scoped, and a stack's objects are in the namespace its " +
	"spec names (spec.namespace.name, default the stack's name); giving it is an error"

func (f *clusterFlags) add(cmd *cobra.Command) {
	f.config = genericclioptions.NewConfigFlags(true)
	// The client finds kinds through its own discovery, not through a cache on
	// disk: --cache-dir would do nothing.
	f.config.CacheDir = nil
	f.command = cmd.Name()
	f.config.AddFlags(cmd.Flags())
	if !f.namespaced {
		cmd.Flags().Lookup("namespace").Usage = usageClusterScoped
	}
}

// namespace is -n/--namespace as given, empty when it was not: a command that
// takes it works on every namespace without it, not on the kubeconfig context's.
func (f *clusterFlags) namespace() string {
	if f.config == nil || f.config.Namespace == nil {
		return ""
	}
	return *f.config.Namespace
}

// check refuses -n/--namespace on a command that does not use it.
func (f *clusterFlags) check() error {
	if ns := f.namespace(); ns != "" && !f.namespaced {
		return fmt.Errorf("kubectl appstack %s takes no -n/--namespace (given %q): AppStacks are cluster-scoped, "+
			"and a stack's objects are in the namespace its spec names (spec.namespace.name, default the stack's name); "+
			"drop the flag", f.command, ns)
	}
	return nil
}

// restConfig is the client configuration the flags select, as kubectl builds it
// (kubeconfig, context, impersonation, overrides), with the plugin's user agent
// and rate limits.
func (f *clusterFlags) restConfig() (*rest.Config, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	cfg, err := f.config.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	if f.noKubeconfig(cfg) {
		return nil, errors.New("load kubeconfig: none found and no --server given: " +
			"pass --kubeconfig FILE, set $KUBECONFIG, or write ~/.kube/config")
	}
	cfg.UserAgent = "kubectl-appstack"
	// kubectl's own limits, not client-go's default of 5 requests a second: a diff
	// reads every kind a stack may own and dry-runs each of its objects.
	cfg.QPS, cfg.Burst = 50, 300
	return cfg, nil
}

// noKubeconfig: no kubeconfig names a cluster, no --server (or $KUBERNETES_MASTER)
// does, and the plugin does not run in a pod, so kubectl's defaults aimed cfg at
// http://localhost:8080. Saying so beats failing to connect there.
func (f *clusterFlags) noKubeconfig(cfg *rest.Config) bool {
	if *f.config.APIServer != "" || os.Getenv("KUBERNETES_MASTER") != "" || cfg.Host != clientcmd.ClusterDefaults.Server {
		return false
	}
	raw, err := f.config.ToRawKubeConfigLoader().RawConfig()
	return err == nil && len(raw.Clusters) == 0
}

// getStack reads the stack named name from the cluster.
func getStack(ctx context.Context, c client.Reader, name string) (*appstackv1.AppStack, error) {
	stack := &appstackv1.AppStack{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, stack); err != nil {
		return nil, fmt.Errorf("get stack %s: %w", name, err)
	}
	return stack, nil
}

func (f *clusterFlags) client() (client.Client, error) {
	cfg, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(appstackv1.AddToScheme(scheme))
	return client.New(cfg, client.Options{Scheme: scheme})
}

// contextName is the kubeconfig context in use: --context, else the
// kubeconfig's current one; empty when there is none (--server alone).
func (f *clusterFlags) contextName() string {
	if f.config.Context != nil && *f.config.Context != "" {
		return *f.config.Context
	}
	raw, err := f.config.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	return raw.CurrentContext
}
