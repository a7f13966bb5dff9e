package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Per-stack gauges, served with controller-runtime's own metrics.
var (
	componentsReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "appstack_components_ready",
		Help: "Components of the stack that are Ready.",
	}, []string{"stack"})
	componentsTotal = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "appstack_components_total",
		Help: "Components of the stack.",
	}, []string{"stack"})
)

func init() {
	metrics.Registry.MustRegister(componentsReady, componentsTotal)
}

func recordComponents(stack string, ready, total int) {
	componentsReady.WithLabelValues(stack).Set(float64(ready))
	componentsTotal.WithLabelValues(stack).Set(float64(total))
}

func forgetStack(stack string) {
	componentsReady.DeleteLabelValues(stack)
	componentsTotal.DeleteLabelValues(stack)
}
