package app

import (
	"sync"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

var registerOnce sync.Once

// Register routes the app's page ("/") in go-app. Both the wasm program
// and the dev server call it: the server renders the same components
// server-side, the browser mounts them.
func Register() {
	registerOnce.Do(func() {
		goapp.Route("/", func() goapp.Composer { return NewPage() })
	})
}
