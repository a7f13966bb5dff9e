package utils

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A process Flux starts runs in a group of its own: Stop ends it and its
// children, waits for them, and returns at once the second time.
func TestFluxStopEndsChildren(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\nsleep 300 &\necho \"$!\"\necho \"$RUNTIME_NAMESPACE $*\"\nwait\n"
	if err := os.WriteFile(filepath.Join(dir, "fake"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	f := &Flux{Workdir: dir}
	p, err := f.run(dir, "fake", []string{"RUNTIME_NAMESPACE=flux-system"}, "--x")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	line, err := firstLine(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(line)
	if err != nil {
		t.Fatalf("first line %q: want the child's pid", line)
	}
	f.Stop()
	select {
	case <-p.exited:
	default:
		t.Fatal("Stop returned before the process exited")
	}
	// The kernel ends a killed process when it next runs: give it a moment.
	deadline := time.Now().Add(5 * time.Second)
	for running(child) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if running(child) {
		_ = syscall.Kill(child, syscall.SIGKILL)
		t.Errorf("the process's child %d still runs 5 s after Stop", child)
	}
	f.Stop()
	if logs := f.Logs(1); !strings.Contains(logs, "---- fake (last 1 lines of "+p.log+") ----\nflux-system --x\n") {
		t.Errorf("Logs(1) = %q: want the header and the last line, with the environment and the arguments", logs)
	}
	if err := p.alive(ctx); err == nil || !strings.Contains(err.Error(), "fake exited") {
		t.Errorf("alive after Stop = %v, want that it exited", err)
	}
}

// A process that ignores SIGTERM is killed when the grace period is over, and
// so is the next one (the grace period is one for all).
func TestFluxStopKillsAfterGrace(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\ntrap '' TERM\necho started\nwhile :; do sleep 0.1; done\n"
	if err := os.WriteFile(filepath.Join(dir, "stubborn"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	f := &Flux{Workdir: dir, grace: 500 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range []string{"one", "two"} {
		if err := os.Link(filepath.Join(dir, "stubborn"), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		p, err := f.run(dir, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Past the trap, so that SIGTERM finds it set.
		if _, err := firstLine(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	done := make(chan struct{})
	go func() { f.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop still waits 5 s after SIGTERM, with a grace period of 0.5 s")
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("Stop returned after %s, before the grace period", took)
	}
}

// running: pid is a process that has not exited (a zombie has).
func running(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	return err == nil && !strings.Contains(string(b), "\nState:\tZ")
}

// Commit makes the repository's tree exactly the files given, pushes to the
// remote's main, and refuses paths outside the work tree.
func TestGitRepoCommit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	// The remote as a file URL: the same bare repository the Git server serves.
	f := &Flux{Workdir: dir, GitURL: "file://" + filepath.Join(dir, "git")}
	r, err := f.NewGitRepo("app")
	if err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(dir, "git", "app.git")
	tree := func(sha string) []string {
		t.Helper()
		out, err := Run(nil, bare, nil, "git", "ls-tree", "-r", "--name-only", sha)
		if err != nil {
			t.Fatal(err)
		}
		files := strings.Fields(out)
		sort.Strings(files)
		return files
	}
	first, err := r.Commit(map[string]string{"a.yaml": "a: 1\n", "sub/b.yaml": "b: 1\n"}, "one")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tree(first), " "); got != "a.yaml sub/b.yaml" {
		t.Errorf("first commit holds %q, want a.yaml sub/b.yaml", got)
	}
	second, err := r.Commit(map[string]string{"c.yaml": "c: 1\n"}, "two")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tree(second), " "); got != "c.yaml" || second == first {
		t.Errorf("second commit %s holds %q, want only c.yaml in a new commit", second, got)
	}
	if head, err := Run(nil, bare, nil, "git", "rev-parse", "refs/heads/"+GitBranch); err != nil || strings.TrimSpace(head) != second {
		t.Errorf("the remote's %s is %q (%v), want the pushed %s", GitBranch, head, err, second)
	}
	for _, bad := range []string{"../x.yaml", "/etc/x.yaml", ".git/config"} {
		if _, err := r.Commit(map[string]string{bad: "x"}, "bad"); err == nil {
			t.Errorf("Commit of %q succeeded, want a refusal", bad)
		}
	}
}

func TestFluxStatusReady(t *testing.T) {
	ready := FluxCondition{Type: "Ready", Status: "True", Reason: "ReconciliationSucceeded", ObservedGeneration: 2}
	for _, tc := range []struct {
		name string
		st   FluxStatus
		want string // "" for Ready
	}{
		{"ready at its generation", FluxStatus{Generation: 2, Conditions: []FluxCondition{ready}}, ""},
		{"no condition", FluxStatus{Generation: 1}, "no Ready condition yet"},
		{"ready for an older generation", FluxStatus{Generation: 3, Conditions: []FluxCondition{ready}},
			"condition Ready=True for generation 2 of 3: ReconciliationSucceeded"},
		{"failed", FluxStatus{Generation: 1, Conditions: []FluxCondition{{Type: "Ready", Status: "False",
			Reason: "HealthCheckFailed", Message: "timeout waiting for: [AppStack/a/b status: 'Failed']", ObservedGeneration: 1}}},
			"condition Ready=False for generation 1 of 1: HealthCheckFailed: timeout waiting for"},
	} {
		_, err := tc.st.Ready()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: Ready() = %v, want Ready", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: Ready() = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestFluxManifests(t *testing.T) {
	k := Kustomization{Namespace: "flux-system", Name: "apps", Source: "repo", Interval: 10 * time.Second,
		Timeout: time.Minute, Prune: true, Wait: true}.Manifest()
	for _, want := range []string{"kind: Kustomization\n", "  interval: 10s\n", "  path: ./\n", "  prune: true\n",
		"  wait: true\n", "    kind: GitRepository\n    name: repo\n", "  timeout: 1m0s\n"} {
		if !strings.Contains(k, want) {
			t.Errorf("Kustomization manifest lacks %q:\n%s", want, k)
		}
	}
	g := GitRepositoryManifest("flux-system", "repo", "http://127.0.0.1:1/app.git", 10*time.Second)
	if !strings.Contains(g, "  url: http://127.0.0.1:1/app.git\n  ref:\n    branch: main\n") {
		t.Errorf("GitRepository manifest:\n%s", g)
	}
}
