#!/usr/bin/env bash
# build_kernels.sh OUT compiles the wasm SIMD kernel module
# (wasmsimd/kernels/kernels.c) into OUT: freestanding wasm32 (no libc),
# SIMD128 and bulk memory (memset becomes memory.fill), the memory and
# __heap_base exported for the Go side to lay out. Debian's clang and lld
# (tools/deps.sh installs them); the same source and flags give the same
# bytes (wasmsimd's tests check it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exec clang --target=wasm32 -O3 -msimd128 -mbulk-memory -nostdlib \
  -Wl,--no-entry -Wl,--export=__heap_base -Wl,--strip-all \
  -o "$1" "$root/wasmsimd/kernels/kernels.c"
