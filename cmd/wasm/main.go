// Command wasm is the Residual browser app, built with
// GOOS=js GOARCH=wasm into web/app.wasm and served by cmd/devserver.
package main

import (
	"runtime/debug"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/residual-webgpu/residual/app"
)

func main() {
	// A wasm heap never returns memory to the browser, so its peak is the
	// tab's for good: collect at 25% growth, not 100%. Most of the heap
	// is weights and activations, which hold no pointers, so collections
	// stay cheap.
	debug.SetGCPercent(25)
	app.Register()
	goapp.RunWhenOnBrowser()
}
