package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
)

// versionSalt changes when the server's own generated resources (handler
// settings, worker changes) change in a way the hashed files do not show.
const versionSalt = "residual-devserver-1"

// buildVersion hashes the files the service worker precaches (the wasm,
// styles, icons, samples), so go-app's worker cache changes exactly when
// one of them does and stays put across server restarts. Missing files
// count as empty.
func buildVersion(root *os.Root, files []string) (string, error) {
	h := sha256.New()
	io.WriteString(h, versionSalt)
	sorted := append([]string(nil), files...)
	sort.Strings(sorted)
	for _, name := range sorted {
		fmt.Fprintf(h, "\x00%s\x00", name)
		f, err := root.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("version: %s: %w", name, err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("version: %s: %w", name, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
