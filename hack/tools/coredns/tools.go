//go:build tools

// Package tools pins CoreDNS for the opt-in real node (hack/real-node.sh). The default
// plugin set is compiled in; hack/real-node.sh never configures forward, so names
// outside the cluster are not resolved.
package tools

import (
	_ "github.com/coredns/coredns"
)
