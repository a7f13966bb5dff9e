//go:build tools

// Package tools pins the node commands (kubelet, kube-proxy) built by hack/tools.sh
// for the opt-in real node of hack/real-node.sh.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
