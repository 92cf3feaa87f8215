package main

import (
	"fmt"
	"strings"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// workerCacheCleanup is the line of go-app's service worker that, on
// activation, deletes every cache but its own, including the app's model
// cache: a model downloaded during a first visit would be thrown away as
// soon as the worker activated, and downloaded again on reload.
const (
	workerCacheCleanup     = `if (key !== cacheName) {`
	workerCacheCleanupOurs = `if (key.startsWith("app-") && key !== cacheName) {`
)

// serviceWorkerTemplate returns go-app's service worker changed to delete
// only its own older caches ("app-<version>"), leaving the model cache.
func serviceWorkerTemplate() (string, error) {
	src := goapp.DefaultAppWorkerJS
	if n := strings.Count(src, workerCacheCleanup); n != 1 {
		return "", fmt.Errorf("service worker: expected 1 cache cleanup line in go-app's worker, found %d (go-app changed?)", n)
	}
	if !strings.Contains(src, `const cacheName = "app-" +`) {
		return "", fmt.Errorf("service worker: go-app's cache name no longer starts with \"app-\"")
	}
	return strings.Replace(src, workerCacheCleanup, workerCacheCleanupOurs, 1), nil
}
