//go:build tools

// Package tools pins the commands that hack/tools.sh builds from this module.
package tools

import (
	_ "sigs.k8s.io/kustomize/kustomize/v5"
)
