package main

import "syscall"

// childAttr makes a process the tests start die with the test binary, even
// when a timeout panic skips the cleanups.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
