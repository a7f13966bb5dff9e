//go:build !linux

package utils

import "syscall"

// ownProcessGroup puts a process in a process group of its own, so that one
// signal reaches its children too.
func ownProcessGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
