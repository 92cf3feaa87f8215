#!/usr/bin/env bash
# device_bench.sh: the native GPU figures on a lent NVIDIA machine (the
# device tool). Run from the repo root there, with bin/bench built here
# (CGO_ENABLED=0 go build -o bin/bench ./tools/bench) and the Vulkan loader
# .debs in .gl/ (see the device tool's README); both are carried.
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export XDG_RUNTIME_DIR=/tmp/xdg; mkdir -p "$XDG_RUNTIME_DIR"
out=${OUT:-/tmp}
nvidia-smi -L
TORCH_DEVICE=cuda timeout 420 ./bin/bench -cpu=false -gpu -arch resnet18,resnet50 -batch 1,8 -runs "${RUNS:-10}" \
  -torch python3 -json "$out/bench-native-gpu.json" 2>&1 | tee "$out/bench-native-gpu.txt"
