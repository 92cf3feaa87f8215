#!/usr/bin/env bash
# deps.sh installs what `make test` and `make run` need on a fresh Debian
# machine, and nothing when it is already there. Usage: tools/deps.sh [test|run|bench|golden|axe]
set -euo pipefail
want=(libvulkan1 mesa-vulkan-drivers)
case "${1:-test}" in
  test) want+=(chromium clang lld wabt) ;;
  bench) want+=(chromium clang lld wabt python3-torch python3-torchvision) ;;
  golden) want+=(python3-torch python3-torchvision python3-pil) ;;
  axe) want=() ;;
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

# axe-core, for the browser tests' accessibility checks (e2e/firstminute_test.go
# injects it into the page): npm, test-only, kept in .cache/ (gitignored).
axe_version=4.14.1
axe_dir="$(cd "$(dirname "$0")/.." && pwd)/.cache/axe-core"
if [ "${1:-test}" = test ] || [ "${1:-test}" = axe ]; then
  if ! grep -qs "\"version\": \"$axe_version\"" "$axe_dir/node_modules/axe-core/package.json"; then
    echo "deps: installing axe-core@$axe_version (npm) into $axe_dir"
    mkdir -p "$axe_dir"
    npm install --prefix "$axe_dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "axe-core@$axe_version" >/dev/null
  fi
fi
