//go:build !(js && wasm)

package app

import "github.com/residual-webgpu/residual/internal/byo"

// Outside the browser there is no worker and no Cache Storage: these
// stand in for byostore_js.go.

func readHead(fileHandle, int) ([]byte, error) { return nil, errNoBrowser }
func convertInWorker(fileHandle, *fileHandle, func(int)) (byo.Report, byo.Stored, error) {
	return byo.Report{}, byo.Stored{}, errNoBrowser
}
func listStored() ([]byo.Stored, error) { return nil, nil }
func removeStored(string) error         { return errNoBrowser }
