#!/usr/bin/env bash
# Builds vendor/dav1d/dav1d.wasm (dav1d, BSD-2-Clause, compiled to WebAssembly with kinu's glue.c), the AV1
# decoder of AVIF sequences. The built file is committed: `npm ci` needs no compiler. To rebuild:
#   apt-get install emscripten meson ninja-build   (Debian 12: emscripten 3.1.6)
#   scripts/dav1d-wasm/build.sh /path/to/dav1d-source   (release tag 1.5.3, commit b546257f770768b2c88258c533da38b91a06f737)
# DAV1D_WORK=dir keeps the meson build there (a rebuild after a glue.c change then only relinks).
set -euo pipefail
src=${1:?path to the dav1d source (release 1.5.3)}
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../.." && pwd)/vendor/dav1d
work=${DAV1D_WORK:-$(mktemp -d)}
[ -n "${DAV1D_WORK:-}" ] || trap 'rm -rf "$work"' EXIT
cat >"$work/cross.txt" <<CROSS
[binaries]
c = 'emcc'
ar = 'emar'
strip = 'true'
[host_machine]
system = 'emscripten'
cpu_family = 'wasm32'
cpu = 'wasm32'
endian = 'little'
CROSS
[ -d "$work/build" ] || meson setup "$work/build" "$src" --cross-file "$work/cross.txt" --default-library=static --buildtype=release \
  -Dbitdepths="['8','16']" -Denable_asm=false -Denable_tools=false -Denable_tests=false -Dlogging=false \
  -Dc_args="-O2 -DNDEBUG"
ninja -C "$work/build" | tail -3
mkdir -p "$out"
# A standalone module (no emscripten JS): av1.ts instantiates it with a few WASI stubs.
emcc -O2 "$here/glue.c" "$work/build/src/libdav1d.a" -I "$src/include" -I "$work/build/include" \
  --no-entry -s STANDALONE_WASM=1 -s ALLOW_MEMORY_GROWTH=1 -s MAXIMUM_MEMORY=2147483648 -s INITIAL_MEMORY=16777216 \
  -s FILESYSTEM=0 -s EXPORTED_FUNCTIONS='["_kd_malloc","_kd_free","_kd_open","_kd_close","_kd_decode","_kd_info"]' \
  -o "$out/dav1d.wasm"
cp "$src/COPYING" "$out/COPYING"
echo "built $out/dav1d.wasm ($(stat -c %s "$out/dav1d.wasm") bytes)"
