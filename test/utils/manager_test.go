package utils

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestManager(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "manager")
	script := "#!/bin/sh\necho \"$KUBECONFIG $EXTRA $*\"\ntrap 'echo stopped; exit 0' TERM\nwhile :; do sleep 0.1; done\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	m, err := StartManager(bin, "/k", logf, []string{"EXTRA=x"}, "--flag")
	if err != nil {
		t.Fatal(err)
	}
	if m.Pid() <= 0 {
		t.Fatalf("pid %d", m.Pid())
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case <-m.Exited():
		t.Fatal("exited while running")
	default:
	}
	m.Stop(syscall.SIGTERM)
	select {
	case <-m.Exited():
	default:
		t.Fatal("Stop returned before the process exited")
	}
	b, _ := os.ReadFile(logf.Name())
	if got := string(b); !strings.HasPrefix(got, "/k x --flag\n") || !strings.HasSuffix(got, "stopped\n") {
		t.Errorf("log %q: want its kubeconfig, environment and arguments, then its clean stop", got)
	}
	m.Stop(syscall.SIGKILL) // a second stop returns at once
}
