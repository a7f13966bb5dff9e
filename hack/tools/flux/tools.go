//go:build tools

// Package tools pins the commands that hack/tools.sh builds from this module.
package tools

import (
	_ "github.com/fluxcd/kustomize-controller"
	_ "github.com/fluxcd/source-controller"
)
