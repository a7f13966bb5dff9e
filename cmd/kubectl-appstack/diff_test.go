package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// diff fails with exit status 2 and the field when a stack is invalid, before it
// needs a cluster; and for a wrong invocation.
func TestDiffExitStatus(t *testing.T) {
	tests := []struct {
		name string
		args []string
		doc  string
		want string
	}{
		{"unknown field", []string{"diff", "-f", "-"}, `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: shop}
spec:
  components:
  - {name: a, replica: 2, containers: [{name: c, image: i}]}
`, "spec.components[0].replica: Forbidden: unknown field"},
		{"cycle", []string{"diff", "-f", "-"}, `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: shop}
spec:
  components:
  - {name: a, dependsOn: [b], containers: [{name: c, image: i}]}
  - {name: b, dependsOn: [a], containers: [{name: c, image: i}]}
`, "dependency cycle: a → b → a"},
		{"no file", []string{"diff"}, "", "no input: pass -f FILE"},
		{"unknown flag", []string{"diff", "--frobnicate"}, "", "unknown flag: --frobnicate"},
		{"argument", []string{"diff", "shop"}, "", "pass the stacks with -f FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], tt.args...)
			cmd.Env = append(os.Environ(), envRunMain+"=1", "KUBECONFIG=/nonexistent")
			cmd.Stdin = strings.NewReader(tt.doc)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitFailed {
				t.Fatalf("got %v, want exit status %d; stderr:\n%s", err, exitFailed, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("printed on stdout:\n%s", stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", stderr.String(), tt.want)
			}
		})
	}
}
