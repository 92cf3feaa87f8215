//go:build !unix

package convert

// nonblockFlag is 0 where O_NONBLOCK does not exist (no FIFOs to refuse).
const nonblockFlag = 0
