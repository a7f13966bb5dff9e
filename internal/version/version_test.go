package version

import (
	"runtime"
	"strings"
	"testing"
)

func TestGetAndString(t *testing.T) {
	old := [3]string{Version, Commit, Date}
	defer func() { Version, Commit, Date = old[0], old[1], old[2] }()
	Version, Commit, Date = "1.2.3", "abc1234", "2026-11-23T04:00:00Z"
	got := Get().String()
	want := "1.2.3 (commit abc1234, 2026-11-23T04:00:00Z, " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
	if got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if !strings.HasPrefix(Get().Platform, runtime.GOOS+"/") {
		t.Fatalf("Platform = %q", Get().Platform)
	}
}
