//go:build unix

package script

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup starts the program in a process group of its own, so
// that a timeout can end it together with its children (Unix only).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup sends SIGKILL to the program's process group. It
// returns os.ErrProcessDone when the group is already gone.
func killProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil || cmd.Process.Pid <= 0 {
		return os.ErrProcessDone
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// defaultPath is the PATH the programs get unless Config.Env sets one.
func defaultPath() string { return "/usr/local/bin:/usr/bin:/bin" }
