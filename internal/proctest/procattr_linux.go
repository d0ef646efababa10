package proctest

import "syscall"

// childAttr makes a console die with the test binary, even when a timeout
// skips the cleanups.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
