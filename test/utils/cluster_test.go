package utils

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeKubectl puts a kubectl first on the PATH that runs script (sh) with the
// arguments it was given, and returns the directory it runs in.
func fakeKubectl(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "say.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"out $GREETING $(pwd)\"\necho err >&2\nexit $1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	out, err := Run(&log, dir, []string{"GREETING=hello"}, script, "0")
	if err != nil {
		t.Fatal(err)
	}
	if want := "out hello " + dir + "\nerr\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if want := "$ say.sh 0\n" + out; log.String() != want {
		t.Errorf("log %q, want %q: the command, shown relative to dir, then its output", log.String(), want)
	}

	out, err = Run(nil, dir, nil, script, "3")
	if err == nil || !strings.HasPrefix(err.Error(), "say.sh 3: exit status 3: ") || !strings.HasSuffix(err.Error(), out) || !strings.Contains(out, "err") {
		t.Errorf("a failure must name the command and end with its output: %v (output %q)", err, out)
	}
}

func TestKubectl(t *testing.T) {
	fakeKubectl(t, `echo "$KUBECONFIG $*"; echo "plugins from ${PATH%%:*}" >&2; [ "$1" != fail ]`)
	var log strings.Builder
	c := NewCluster("/repo", "test", &log)
	if c.Kubeconfig != "/repo/bin/test.kubeconfig" {
		t.Fatalf("kubeconfig %s", c.Kubeconfig)
	}
	out, err := c.Kubectl("get", "stacks")
	if err != nil || out != "/repo/bin/test.kubeconfig get stacks\n" {
		t.Fatalf("Kubectl = %q, %v: want standard output only", out, err)
	}
	if want := "$ kubectl get stacks\n" + out + "plugins from /repo/bin\n"; log.String() != want {
		t.Errorf("log %q, want %q", log.String(), want)
	}
	log.Reset()
	_, err = c.KubectlQuiet("fail", "now")
	if err == nil || err.Error() != "kubectl fail now: exit status 1: plugins from /repo/bin\n" {
		t.Errorf("error %v: want the command and its standard error", err)
	}
	if log.Len() != 0 {
		t.Errorf("KubectlQuiet logged %q", log.String())
	}
}

func TestLeader(t *testing.T) {
	fakeKubectl(t, `case "$2" in lease) printf %s "$HOLDER";; pod) [ "$3" = web-1 ] && printf %s "$POD";; esac`)
	c := NewCluster("/repo", "test", nil)
	for _, tc := range []struct{ holder, pod, wantPod, wantImage string }{
		{"web-1_4f2a", "Running||operator:0.2.0", "web-1", "operator:0.2.0"},
		{"", "Running||operator:0.2.0", "", ""},
		{"web-1_4f2a", "Pending||operator:0.2.0", "", ""},
		{"web-1_4f2a", "Running|2026-01-01T00:00:00Z|operator:0.2.0", "", ""}, // being deleted
		{"web-2_4f2a", "Running||operator:0.2.0", "", ""},                     // its pod is gone
	} {
		t.Setenv("HOLDER", tc.holder)
		t.Setenv("POD", tc.pod)
		if pod, image := c.Leader("system", "lease"); pod != tc.wantPod || image != tc.wantImage {
			t.Errorf("holder %q, pod %q: Leader = %q %q, want %q %q", tc.holder, tc.pod, pod, image, tc.wantPod, tc.wantImage)
		}
	}
}

func TestWaitFor(t *testing.T) {
	dir := fakeKubectl(t, `echo "$*" >>"$(dirname "$0")/calls"; n=$(wc -l <"$(dirname "$0")/calls"); `+
		`[ "$n" -ge "$SUCCEED_AT" ] || { echo "error: no status yet" >&2; exit 1; }`)
	c := NewCluster("/repo", "test", nil)
	t.Setenv("SUCCEED_AT", "3")
	if err := c.WaitFor("Ready", 20*time.Second, time.Minute, StackRefs("a", "b")...); err != nil {
		t.Fatalf("WaitFor: %v", err)
	}
	calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
	if want := strings.Repeat("wait --for=condition=Ready --timeout=20s stack/a stack/b\n", 3); string(calls) != want {
		t.Errorf("calls %q, want %q: retried until it succeeds", calls, want)
	}

	_ = os.Remove(filepath.Join(dir, "calls"))
	t.Setenv("SUCCEED_AT", "100")
	start := time.Now()
	err := c.WaitCRDEstablished(1500 * time.Millisecond)
	if err == nil || !strings.HasPrefix(err.Error(), "crd/"+CRDName+" not Established after 1.5s: kubectl wait") ||
		!strings.HasSuffix(err.Error(), "error: no status yet\n") {
		t.Errorf("error %v: want what is not Established after how long, and kubectl's last answer", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("gave up after %s, want about the timeout", took)
	}
}
