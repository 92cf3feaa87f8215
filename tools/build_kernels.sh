#!/usr/bin/env bash
# build_kernels.sh OUT compiles the wasm SIMD kernel module
# (wasmsimd/kernels/kernels.c) into OUT: freestanding wasm32 (no libc),
# SIMD128, bulk memory (memset becomes memory.fill) and atomics, over an
# imported shared memory ("env" "memory": 1 MiB initially, at most 1 GiB;
# wasmsimd's memPages and memMaxPages say the same) so that several
# instances can work in it at once. The C stack comes first (an overflow
# traps instead of overwriting data); __stack_pointer is exported so that
# each instance can be given its own stack, __heap_base for the Go side
# to lay memory out from. Debian's clang and lld (tools/deps.sh installs
# them); the same source and flags give the same bytes (wasmsimd's tests
# check it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exec clang --target=wasm32 -O3 -msimd128 -mbulk-memory -matomics -mmutable-globals -nostdlib \
  -Wl,--no-entry -Wl,--import-memory -Wl,--shared-memory \
  -Wl,--initial-memory=1048576 -Wl,--max-memory=1073741824 -Wl,--stack-first \
  -Wl,--export=__heap_base -Wl,--export=__stack_pointer -Wl,--strip-all \
  -o "$1" "$root/wasmsimd/kernels/kernels.c"
