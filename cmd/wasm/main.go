// Command wasm is the Residual browser app, built with
// GOOS=js GOARCH=wasm into web/app.wasm and served by cmd/devserver.
package main

import (
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/residual-webgpu/residual/app"
)

func main() {
	app.Register()
	goapp.RunWhenOnBrowser()
}
