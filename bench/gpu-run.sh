#!/usr/bin/env bash
# Runs on the lent GPU machine from the repository root, with .carry/ carried (bench/gpu-pack.sh):
#   bash bench/gpu-run.sh test            the test suite on the machine's adapter (a missing one fails)
#   bash bench/gpu-run.sh bench ARGS...   node .carry/build/bench/run.js --torch ARGS --out $OUT
# Logs go to $OUT (the run tool's folder that comes back), else /tmp/gpu-out.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu-out}
mkdir -p "$out" /tmp/node node_modules
ldconfig -p | grep 'libvulkan\.so\.1 ' > /dev/null || { dpkg -x .carry/libvulkan1_*.deb /; ldconfig; }
[ -x /tmp/node/node ] || { xz -dc .carry/node.xz > /tmp/node/node; chmod +x /tmp/node/node; }
export PATH=/tmp/node:$PATH XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
nvidia=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -n "${VK_DRIVER_FILES:-}" ] || [ ! -f "$nvidia" ] || export VK_DRIVER_FILES=$nvidia
[ -d node_modules/webgpu ] || tar -C node_modules -xJf .carry/webgpu.tar.xz
{ nvidia-smi -L || true; node --version; } 2>&1 | tee "$out/machine.txt"
case "${1:-}" in
  test)
    [ -d node_modules/vitest ] || tar -C node_modules -xJf .carry/test.tar.xz
    # bench.test.ts spawns tsx, which does not travel; the bench itself runs as `bench` below
    GRADWISE_REQUIRE_WEBGPU=1 node node_modules/vitest/vitest.mjs run --exclude test/bench.test.ts \
      2>&1 | tee "$out/test.log" ;;
  bench)
    shift
    [ -d node_modules/@tensorflow ] || tar -C node_modules -xJf .carry/tfjs.tar.xz
    node .carry/build/bench/run.js --torch "$@" --out "$out" 2>&1 | tee "$out/bench.log" ;;
  *) echo "usage: bash bench/gpu-run.sh test | bench [run.js args]" >&2; exit 2 ;;
esac
