package utils

import (
	"io"
	"os"
	"os/exec"
)

// Manager is the operator's binary run as a process on this machine.
type Manager struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartManager starts the operator's binary bin with args against the cluster of
// kubeconfig, env ("KEY=value") added to this process's environment, its output
// to log.
func StartManager(bin, kubeconfig string, log io.Writer, env []string, args ...string) (*Manager, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+kubeconfig), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	m := &Manager{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.exited) }()
	return m, nil
}

// Pid is the process's ID.
func (m *Manager) Pid() int { return m.cmd.Process.Pid }

// Exited is closed once the process has exited.
func (m *Manager) Exited() <-chan struct{} { return m.exited }

// Stop sends the process sig (os.Kill: a crash) and waits until it has exited.
func (m *Manager) Stop(sig os.Signal) {
	_ = m.cmd.Process.Signal(sig)
	<-m.exited
}
