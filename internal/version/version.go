// Package version is what this build of the operator and of the kubectl plugin
// says it is. The Makefile stamps the three variables at link time from VERSION
// and git (see `make build` and `make release`); a plain `go build` says "dev".
package version

import (
	"fmt"
	"runtime"
)

// Set with -ldflags "-X github.com/appstack-dev/appstack-operator/internal/version.Version=…".
var (
	// Version is the release, from the VERSION file, e.g. 0.1.0.
	Version = "dev"
	// Commit is the git commit the build was made from (with "-dirty" when the tree had changes).
	Commit = "unknown"
	// Date is the commit's date, RFC 3339, so the same commit builds the same bytes.
	Date = "unknown"
)

// Info is the build, as printed and as served in metrics.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get is this binary's build.
func Get() Info {
	return Info{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
}

// String is one line: "0.1.0 (commit abc1234, 2026-11-23T04:00:00Z, go1.26.8 linux/amd64)".
func (i Info) String() string {
	return fmt.Sprintf("%s (commit %s, %s, %s %s)", i.Version, i.Commit, i.Date, i.GoVersion, i.Platform)
}
