//go:build js && wasm

package app

import "syscall/js"

// newSettings keeps settings in the origin's localStorage.
func newSettings() settingsStore { return localStorageSettings{} }

// localStorageSettings is window.localStorage. Reading it can throw (storage
// disabled, an opaque origin): that reads as unset, and a failed write is
// dropped, since the page works without remembering.
type localStorageSettings struct{}

func (localStorageSettings) get(key string) (v string) {
	defer func() {
		if recover() != nil {
			v = ""
		}
	}()
	ls := js.Global().Get("localStorage")
	if !ls.Truthy() {
		return ""
	}
	if r := ls.Call("getItem", key); r.Type() == js.TypeString {
		return r.String()
	}
	return ""
}

func (localStorageSettings) set(key, value string) {
	defer func() { recover() }() // QuotaExceededError, SecurityError
	if ls := js.Global().Get("localStorage"); ls.Truthy() {
		ls.Call("setItem", key, value)
	}
}
