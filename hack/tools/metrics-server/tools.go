//go:build tools

// Package tools pins metrics-server, run as a plain process (not a pod) beside the
// opt-in real node and registered as the APIService v1beta1.metrics.k8s.io, so that
// kubectl top and the HorizontalPodAutoscaler controller read pod metrics. v0.9.0 is
// built against k8s.io/* v0.36 and needs go >= 1.26.4 (hence this module's go line).
package tools

import (
	_ "sigs.k8s.io/metrics-server/cmd/metrics-server"
)
