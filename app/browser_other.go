//go:build !(js && wasm)

package app

import (
	"errors"
	"time"
)

// This file stands in for browser_js.go outside the browser: the dev
// server renders the page server-side and tests exercise the rest of the
// package natively. Nothing here is reached from there.

var errNoBrowser = errors.New("needs a browser (GOOS=js GOARCH=wasm)")

// fileHandle is a file the user gave; outside the browser there are none.
type fileHandle struct {
	name string
	size int64
}

func listenForFiles(func([]fileHandle), func(bool), func()) (stop func()) { return func() {} }
func pickedFiles(string) []fileHandle                                     { return nil }
func readFile(h fileHandle) ([]byte, error)                               { return nil, errNoBrowser }
func fetchBytes(string) ([]byte, error)                                   { return nil, errNoBrowser }
func loadModelFile(string, func([]byte, int64, int64, bool)) (modelFile, bool, error) {
	return nil, false, errNoBrowser
}
func forgetModel(string) error               { return errNoBrowser }
func probeWebGPU() gpuInfo                   { return gpuInfo{Problem: errNoBrowser.Error()} }
func clipboardImages() ([]fileHandle, error) { return nil, errNoBrowser }
func markTiming(string) float64              { return 0 }
func queryParam(string) string               { return "" }
func revealAnswer()                          {}
func revealElement(string)                   {}
func openDetails(string)                     {}
func focusElement(string)                    {}

// newSettings keeps settings for the process only.
func newSettings() settingsStore { return &memorySettings{} }

// pauseFor sleeps: outside the browser there is nothing to paint.
func pauseFor(d time.Duration) { time.Sleep(d) }

// yieldToBrowser is nil outside the browser: there is no page to repaint
// during a CPU run, and the engine uses every core anyway.
var yieldToBrowser func()
