#!/usr/bin/env bash
# deps.sh installs what `make test` and `make run` need on a fresh Debian
# machine, and nothing when it is already there. Usage: tools/deps.sh [test|run|bench]
set -euo pipefail
want=(libvulkan1 mesa-vulkan-drivers)
case "${1:-test}" in
  test) want+=(chromium) ;;
  bench) want+=(chromium python3-torch python3-torchvision) ;;
  golden) want+=(python3-torch python3-torchvision python3-pil) ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v npm >/dev/null || { echo "deps: npm is required (to fetch the weights)"; exit 1; }
