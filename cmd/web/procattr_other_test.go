//go:build !linux

package main

import "syscall"

// childAttr is the default elsewhere: cleanups stop the processes.
func childAttr() *syscall.SysProcAttr { return nil }
