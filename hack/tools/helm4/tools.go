//go:build tools

// Package tools pins the commands that hack/tools.sh builds from this module.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
