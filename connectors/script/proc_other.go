//go:build !unix

package script

import (
	"os"
	"os/exec"
)

// setProcessGroup does nothing here: process groups are a Unix feature, so
// on this platform a timeout ends the program but not its children.
func setProcessGroup(*exec.Cmd) {}

// killProcessGroup kills the program itself (only its own process on this
// platform).
func killProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return os.ErrProcessDone
	}
	return cmd.Process.Kill()
}

// defaultPath is the PATH the programs get unless Config.Env sets one: the
// host's own, since there is no standard one on this platform.
func defaultPath() string { return os.Getenv("PATH") }
