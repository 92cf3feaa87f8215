package main

import "net/http"

// contentSecurityPolicy allows only what the app uses: its own scripts
// plus WebAssembly compilation ('wasm-unsafe-eval', not 'unsafe-eval'),
// its own styles (the app never writes style attributes), images from
// itself and from data:/blob: URLs (input crops and heatmaps), fetches to
// itself (the model), its own service worker and manifest, and Web Workers
// from its own scripts or from blob: URLs it made (the CPU engine's
// workers run wasmsimd.WorkerJS from one).
const contentSecurityPolicy = "default-src 'self'; " +
	"script-src 'self' 'wasm-unsafe-eval'; " +
	"style-src 'self'; " +
	"img-src 'self' data: blob:; " +
	"connect-src 'self'; " +
	"worker-src 'self' blob:; " +
	"manifest-src 'self'; " +
	"font-src 'self'; " +
	"object-src 'none'; " +
	"base-uri 'none'; " +
	"form-action 'none'; " +
	"frame-ancestors 'none'"

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		// Cross-origin isolation (COOP + COEP): SharedArrayBuffer, which
		// the CPU engine's workers share memory through, and precise
		// performance.measureUserAgentSpecificMemory. Everything the page
		// loads is its own, so require-corp blocks nothing.
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Embedder-Policy", "require-corp")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		next.ServeHTTP(w, r)
	})
}
