//go:build unix

package convert

import "syscall"

// nonblockFlag makes opening a FIFO return at once instead of waiting for
// a writer, so that openRegular can refuse it.
const nonblockFlag = syscall.O_NONBLOCK
