#!/usr/bin/env bash
# The native addon under AddressSanitizer and UndefinedBehaviorSanitizer: a copy of the checkout
# (tracked files, this node_modules) built with -fsanitize=address,undefined in its own build
# directory, then the integration suites run against it with libasan preloaded into node. Leak
# detection is off (Node keeps memory by design). Any sanitizer report — in the test process or in a
# kring CLI it spawns — fails the run: reports go to files, which must not exist at the end. The
# install suite is left out: it packs, builds the ordinary prebuilt addons and loads those in fresh
# projects, so nothing instrumented runs in it (under the preload it took 107 of the run's 584 s);
# so is the package suite (npm pack's file list and tsc over the types: no addon loaded; 16 s).
#   npm run test:sanitize [-- JEST ARGS]   (e.g. a test file's path: JEST ARGS go first, as
#   --testPathIgnorePatterns takes every argument after it as one more pattern to ignore)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/kring-sanitize.XXXXXX)"
chmod 755 "$work" # the suites run kring as nobody too
reports="$work/reports"
mkdir -p "$reports"
[ -n "${KRING_KEEP_SANITIZE:-}" ] || trap 'rm -rf "$work"' EXIT

(cd "$root" && git ls-files -z | tar --null -cf - -T -) | tar -xf - -C "$work"
ln -s "$root/node_modules" "$work/node_modules"
cd "$work"
# The flags for this build only: the suites' own builds (npm pack's prebuilds) are the ordinary ones.
CXXFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -g -O1" LDFLAGS="-fsanitize=address,undefined" \
  npx node-gyp rebuild --jobs max >/dev/null
# The run means something only if the addon it loads is the instrumented one.
ldd build/Release/kring.node | grep -q libasan || { echo "the addon is not built with ASan" >&2; exit 1; }
npm run -s build

libasan="$(g++ -print-file-name=libasan.so)"
libubsan="$(g++ -print-file-name=libubsan.so)"
# The preload is for node (the test process and the kring CLIs it spawns): the other programs the
# tests run get it taken off by a wrapper of the same name first in PATH (ip itself trips ASan).
wrappers="$work/wrappers"
mkdir -p "$wrappers"
for tool in ip tcpdump tshark python3 iptables iptables-legacy tar g++ gcc cc c++ make; do
  real="$(command -v "$tool" || true)"
  [ -n "$real" ] || continue
  # "ip netns exec NS node …" keeps it: ip only enters the namespace and runs node.
  keep=''
  [ "$tool" = ip ] && keep='case " $* " in *" exec "*) exec '"$real"' "$@";; esac'
  printf '#!/bin/sh\n%s\nunset LD_PRELOAD\nexec %s "$@"\n' "$keep" "$real" >"$wrappers/$tool"
  chmod +x "$wrappers/$tool"
done
status=0
PATH="$wrappers:$PATH" \
  LD_PRELOAD="$libasan $libubsan" \
  ASAN_OPTIONS="detect_leaks=0:log_path=$reports/asan:abort_on_error=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan" \
  npx jest "$@" --selectProjects integration --testPathIgnorePatterns 'integration/(install|package)\.test\.ts' || status=$?
found=$(ls "$reports"/* 2>/dev/null || true)
if [ -n "$found" ]; then
  echo "sanitizer reports:" >&2
  cat $found >&2
  exit 1
fi
exit $status
