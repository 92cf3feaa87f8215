//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

// Outside the browser there is no worker to serve: build with GOOS=js
// GOARCH=wasm (make wasm).
func main() {
	fmt.Fprintln(os.Stderr, "converter runs in the browser's Web Worker: build it with GOOS=js GOARCH=wasm (make wasm)")
	os.Exit(2)
}
