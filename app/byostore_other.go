//go:build !(js && wasm)

package app

// Outside the browser there is no worker and no Cache Storage: these
// stand in for byostore_js.go and byoworker_js.go.

func readHead(fileHandle, int) ([]byte, error) { return nil, errNoBrowser }
func convertInWorker(fileHandle, *fileHandle, func(int)) (byoReport, storedModel, error) {
	return byoReport{}, storedModel{}, errNoBrowser
}
func listStored() ([]storedModel, error) { return nil, nil }
func removeStored(string) error          { return errNoBrowser }

// InConverterWorker reports whether this program runs in the converter's
// Web Worker: never outside the browser.
func InConverterWorker() bool { return false }

// RunConversion is the worker's job; outside the browser there is none.
func RunConversion() {}
