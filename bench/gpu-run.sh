#!/usr/bin/env bash
# Runs on the lent GPU machine from the repository root, with .carry/ carried (bench/gpu-pack.sh):
#   bash bench/gpu-run.sh test            the test suite on the machine's adapter (a missing one fails)
#   bash bench/gpu-run.sh bench ARGS...   node .carry/build/bench/run.js --torch ARGS --out $OUT
#   bash bench/gpu-run.sh devbw ARGS...   node .carry/build/bench/devbw.js --torch --out $OUT/devbw.md ARGS
#   bash bench/gpu-run.sh reads ARGS...   bench/ab.ts: reads in one piece (A) against pieces past 1 MiB (B)
# Logs go to $OUT (the run tool's folder that comes back), else /tmp/gpu-out.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu-out}
mkdir -p "$out" /tmp/node node_modules
ldconfig -p | grep 'libvulkan\.so\.1 ' > /dev/null || { dpkg -x .carry/libvulkan1_*.deb /; ldconfig; }
[ -x /tmp/node/node ] || { xz -dc .carry/node.xz > /tmp/node/node; chmod +x /tmp/node/node; }
export PATH=/tmp/node:$PATH XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
[ -d node_modules/webgpu ] || tar -C node_modules -xJf .carry/webgpu.tar.xz
# NVIDIA's ICD file names libGLX_nvidia.so.0, whose Vulkan entry fails without an X server
# ("Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr'"); headless, the same driver
# answers through libEGL_nvidia.so.0. Keep the first ICD file under which Dawn finds an adapter.
probe='const {create,globals}=require("./node_modules/webgpu");Object.assign(globalThis,globals);
const g=create([]);g.requestAdapter().then((a)=>{console.log(a?a.info.description||a.info.device:"none");process.exit(a?0:1)})'
if [ -z "${VK_DRIVER_FILES:-}" ] && ldconfig -p | grep -q 'libEGL_nvidia\.so\.0 '; then
  printf '{"file_format_version":"1.0.1","ICD":{"library_path":"libEGL_nvidia.so.0","api_version":"1.3.0"}}\n' \
    > /tmp/nvidia_egl_icd.json
  for icd in /tmp/nvidia_egl_icd.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
    /usr/share/vulkan/icd.d/nvidia_icd.json; do
    [ -f "$icd" ] && VK_DRIVER_FILES=$icd node -e "$probe" > /dev/null 2>&1 && { export VK_DRIVER_FILES=$icd; break; }
  done
fi
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} adapter: $(node -e "$probe" 2>/dev/null)" | tee "$out/adapter.txt"
{ nvidia-smi -L || true; node --version; } 2>&1 | tee "$out/machine.txt"
case "${1:-}" in
  test)
    [ -d node_modules/vitest ] || tar -C node_modules -xJf .carry/test.tar.xz
    # bench.test.ts spawns tsx, which does not travel; the bench itself runs as `bench` below
    # 2000 random programs took over a minute on an H200 (each new fused kernel compiles): 300 here
    GRADWISE_PROPERTY_RUNS=${GRADWISE_PROPERTY_RUNS:-300} GRADWISE_REQUIRE_WEBGPU=1 \
      node node_modules/vitest/vitest.mjs run --exclude test/bench.test.ts \
      2>&1 | tee "$out/test.log" ;;
  bench)
    shift
    [ -d node_modules/@tensorflow ] || tar -C node_modules -xJf .carry/tfjs.tar.xz
    node .carry/build/bench/run.js --torch "$@" --out "$out" 2>&1 | tee "$out/bench.log" ;;
  devbw)
    shift
    node .carry/build/bench/devbw.js --torch --out "$out/devbw.md" "$@" 2>&1 | tee "$out/devbw.log" ;;
  reads)
    shift
    # The default build (A, reads in one staging piece up to 64 MiB) against a copy reading past
    # 1 MiB in pieces in flight (B), alternated in one process: W1/W2 at 1e6 are read-bound on a GPU.
    # The copy stays inside the repository: a build finds shaders/ in a folder above it.
    rm -rf .carry/pieces && cp -r .carry/build .carry/pieces
    f=.carry/pieces/src/backend/webgpu_exec.js
    sed -i 's/mib("GRADWISE_WEBGPU_READ_SPLIT_MB", 64)/mib("GRADWISE_WEBGPU_READ_SPLIT_MB", 1)/' "$f"
    grep -q 'READ_SPLIT_MB", 1)' "$f" || { echo "the split default was not found in $f" >&2; exit 1; }
    node .carry/build/bench/ab.js .carry/build .carry/pieces --device webgpu --workloads W1,W2 --sizes 1e6,1.6e7 \
      --rounds 60 --out "$out/reads.md" "$@" 2>&1 | tee "$out/reads.log" ;;
  *) echo "usage: bash bench/gpu-run.sh test | bench [run.js args] | devbw [devbw.js args] | reads [ab.js args]" >&2; exit 2 ;;
esac
