//go:build !js

package main

import (
	"fmt"
	"strings"
)

// peer is one runtime+backend the harness measures: a page under web/
// that defines window.bench (see README.md, "The page contract").
type peer struct {
	Name  string // short id used by -peers and in the JSON
	Title string // for the table
	Page  string // URL path and query of the page
	GPU   bool   // a WebGPU peer: its warm count is -gpu-runs
	Ours  bool   // one of ours: needs the Residual bench wasm
}

// allPeers are the peers in the order they run: ours first, so the
// baseline exists even when a slow peer is cut short.
var allPeers = []peer{
	{Name: "residual-webgpu", Title: "Residual WebGPU", Page: "/residual.html?engine=webgpu", GPU: true, Ours: true},
	{Name: "residual-cpu", Title: "Residual CPU (the app's no-GPU engine)", Page: "/residual.html?engine=cpu", Ours: true},
	{Name: "residual-go", Title: "Residual Go wasm (the reference)", Page: "/residual.html?engine=go", Ours: true},
	{Name: "ort-wasm", Title: "ORT Web wasm", Page: "/ort.html?ep=wasm"},
	{Name: "tfjs-wasm", Title: "TF.js wasm", Page: "/tfjs.html?backend=wasm"},
	{Name: "ort-webgpu", Title: "ORT Web WebGPU", Page: "/ort.html?ep=webgpu", GPU: true},
	{Name: "tfjs-webgpu", Title: "TF.js WebGPU", Page: "/tfjs.html?backend=webgpu", GPU: true},
}

// baselineName is the peer every latency ratio is relative to.
const baselineName = "residual-webgpu"

// selectPeers returns the peers named in the comma-separated list, in
// allPeers order; "all" or "" selects every peer.
func selectPeers(list string) ([]peer, error) {
	if list == "" || list == "all" {
		return allPeers, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		found := false
		for _, p := range allPeers {
			if p.Name == n {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown peer %q (have %s)", n, peerNames())
		}
		want[n] = true
	}
	var out []peer
	for _, p := range allPeers {
		if want[p.Name] {
			out = append(out, p)
		}
	}
	return out, nil
}

// peerNames lists every peer's name, for messages.
func peerNames() string {
	var ns []string
	for _, p := range allPeers {
		ns = append(ns, p.Name)
	}
	return strings.Join(ns, ",")
}
