//go:build !linux

package proctest

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
