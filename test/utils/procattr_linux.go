package utils

import "syscall"

// ownProcessGroup puts a process in a process group of its own (so that one
// signal reaches its children too) and has the kernel kill it when the test
// process dies without stopping it (a test binary killed at its -timeout).
func ownProcessGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
