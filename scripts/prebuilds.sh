#!/usr/bin/env bash
# `npm run build:prebuilds`: the prebuilt Node-API addons the package ships (prebuilds/), one per
# platform, loaded by node-gyp-build: linux-x64 natively, and linux-arm64 with Debian's cross
# toolchain (g++-aarch64-linux-gnu) when it is installed. N-API: one binary serves every Node >= 20.
#
# Built in a copy of the sources: prebuildify builds in ./build, which node-gyp-build loads before
# prebuilds/, so building in the checkout left an arm64 addon in build/Release that no process here
# could load (and broke any test started meanwhile).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r binding.gyp package.json native "$work/"
ln -s "$root/node_modules" "$work/node_modules"
cd "$work"
npx prebuildify --napi --strip
if command -v aarch64-linux-gnu-g++ >/dev/null 2>&1; then
  CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ \
    npx prebuildify --napi --strip --arch arm64 --strip-bin aarch64-linux-gnu-strip
else
  echo "build:prebuilds: no aarch64 cross compiler (apt-get install g++-aarch64-linux-gnu): linux-arm64 skipped" >&2
fi
rm -rf "$root/prebuilds"
cp -r prebuilds "$root/prebuilds"
