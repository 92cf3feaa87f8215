#!/usr/bin/env bash
# build_kernels.sh OUT [relaxed] compiles the wasm SIMD kernel module
# (wasmsimd/kernels/kernels.c) into OUT: freestanding wasm32 (no libc),
# SIMD128, bulk memory (memset becomes memory.fill) and atomics, over an
# imported shared memory ("env" "memory": 1 MiB initially, at most 1 GiB;
# wasmsimd's memPages and memMaxPages say the same) so that several
# instances can work in it at once. The C stack comes first (an overflow
# traps instead of overwriting data); __stack_pointer is exported so that
# each instance can be given its own stack, __heap_base for the Go side
# to lay memory out from.
#
# With "relaxed", the build for browsers with relaxed SIMD: clang 14 has
# no builtin for i32x4.relaxed_dot_i8x16_i7x16_add_s, so kernels.c calls
# an import in its place, and wabt turns the module into text, each call
# into the instruction, and back (dropping the names).
#
# Debian's clang, lld and wabt (tools/deps.sh installs them); the same
# source and flags give the same bytes (wasmsimd's tests check it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
flags=(--target=wasm32 -O3 -msimd128 -mbulk-memory -matomics -mmutable-globals -nostdlib
  -Wl,--no-entry -Wl,--import-memory -Wl,--shared-memory
  -Wl,--initial-memory=1048576 -Wl,--max-memory=1073741824 -Wl,--stack-first
  -Wl,--export=__heap_base -Wl,--export=__stack_pointer)
src="$root/wasmsimd/kernels/kernels.c"
if [ "${2:-}" != relaxed ]; then
  exec clang "${flags[@]}" -Wl,--strip-all -o "$1" "$src"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
clang "${flags[@]}" -DRELAXED -o "$tmp/k.wasm" "$src"
wasm2wat --enable-threads "$tmp/k.wasm" -o "$tmp/k.wat"
grep -q 'call $relaxed_dot' "$tmp/k.wat" || { echo "build_kernels: no relaxed_dot call to replace" >&2; exit 1; }
sed -e '/(import "relaxed" "dot"/d' -e 's/call \$relaxed_dot$/i32x4.dot_i8x16_i7x16_add_s/' "$tmp/k.wat" > "$tmp/r.wat"
if grep -q 'relaxed_dot' "$tmp/r.wat"; then echo "build_kernels: relaxed_dot left over" >&2; exit 1; fi
wat2wasm --enable-threads --enable-relaxed-simd "$tmp/r.wat" -o "$1"
