/*
Copyright 2026.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command manager runs the appstack-operator: the AppStack controller in a
// controller-runtime manager.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	// Client auth plugins (OIDC, exec, ...) for running against any cluster.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/controller"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/version"
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(appstackv1.AddToScheme(scheme))
}

func main() {
	var (
		metricsAddr, probeAddr string
		pprofAddr              string
		secureMetrics          bool
		enableHTTP2            bool
		leaderElect            bool
		leaderElectionNS       string
		maxConcurrent          int
		qps                    float64
		burst                  int
		syncPeriod             time.Duration
		batchPeriod            time.Duration
		showVersion            bool
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0",
		"Address the metrics endpoint binds to: :8443 for HTTPS, :8080 for HTTP, 0 to disable.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health and readiness probes bind to.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0",
		"Address Go's pprof endpoints (/debug/pprof/) bind to, e.g. 127.0.0.1:6060; 0 disables them. "+
			"Unauthenticated: bind to loopback.")
	flag.BoolVar(&leaderElect, "leader-elect", false,
		"Elect a leader so that only one of several replicas reconciles.")
	flag.StringVar(&leaderElectionNS, "leader-election-namespace", "",
		"Namespace of the leader election Lease; defaults to the pod's own namespace "+
			"(needed when running outside the cluster).")
	flag.BoolVar(&secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS behind Kubernetes authentication and authorization; false serves plain HTTP.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false,
		"Serve metrics over HTTP/2 (off by default: HTTP/2 rapid-reset and stream-cancellation CVEs).")
	flag.IntVar(&maxConcurrent, "max-concurrent-reconciles", 4, "How many stacks are reconciled at once.")
	flag.Float64Var(&qps, "kube-api-qps", 50, "Sustained requests per second to the apiserver.")
	flag.IntVar(&burst, "kube-api-burst", 100, "Burst of requests to the apiserver above --kube-api-qps.")
	flag.DurationVar(&syncPeriod, "sync-period", 10*time.Hour,
		"How often every stack is reconciled again even without events (a full resync of the caches).")
	flag.DurationVar(&batchPeriod, "batch-period", time.Second,
		"How long the creations and updates of a stack's children (mostly their status during a rollout) are collected "+
			"into one reconcile and one status write; deletions are acted on at once. 0 reconciles at every event.")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.BoolVar(&showVersion, "version", false, "Print the version and exit.")
	flag.Parse()
	if showVersion {
		fmt.Println("appstack-operator", version.Get())
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	build := version.Get()
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "appstack_operator_build_info",
		Help: "The operator's build: always 1, with its version, commit, date and Go version as labels.",
	}, []string{"version", "commit", "date", "goversion"})
	buildInfo.WithLabelValues(build.Version, build.Commit, build.Date, build.GoVersion).Set(1)
	metrics.Registry.MustRegister(buildInfo)

	var tlsOpts []func(*tls.Config)
	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: metricsAddr, SecureServing: secureMetrics, TLSOpts: tlsOpts}
	if secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	// The heap of a controller is mostly its informer cache, live for good. Go's
	// default collects when the heap has doubled over what is live; collecting at
	// half again keeps the resident size about a quarter lower for a little CPU,
	// which a controller that waits on the apiserver has to spare. GOGC (and
	// GOMEMLIMIT, which the chart sets from the container's memory limit) win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}

	cfg := ctrl.GetConfigOrDie()
	cfg.QPS = float32(qps)
	cfg.Burst = burst
	cfg.UserAgent = render.ManagedBy

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        probeAddr,
		PprofBindAddress:              pprofAddr,
		LeaderElection:                leaderElect,
		LeaderElectionID:              "appstack-operator.appstack.dev",
		LeaderElectionNamespace:       leaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
		NewCache:                      controller.NewCache(syncPeriod),
		NewClient:                     controller.NewClient,
	})
	if err != nil {
		setupLog.Error(err, "unable to create the manager")
		os.Exit(1)
	}

	if err := (&controller.AppStackReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		Recorder:                mgr.GetEventRecorder(render.ManagedBy),
		MaxConcurrentReconciles: maxConcurrent,
		BatchPeriod:             batchPeriod,
	}).SetupWithManager(mgr); err != nil {
		setupLog.Error(err, "unable to set up the AppStack controller")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "unable to set up the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		setupLog.Error(err, "unable to set up the readiness check")
		os.Exit(1)
	}

	setupLog.Info("starting manager", "version", build.Version, "commit", build.Commit,
		"maxConcurrentReconciles", maxConcurrent, "qps", qps, "burst", burst, "batchPeriod", batchPeriod)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setupLog.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}
