#!/usr/bin/env bash
# bench.sh: `make bench`. Latency of the CPU reference and the native GPU
# engine (Vulkan) beside PyTorch's CPU, in one run, as ratios; figures also
# go to test-output/bench.json.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-output "${XDG_RUNTIME_DIR:-/tmp/residual-xdg}"
go run ./tools/bench -runs "${RUNS:-10}" -arch resnet18,resnet50 -batch 1,8 -gpu -json test-output/bench.json
