#!/usr/bin/env bash
# Packs .carry/ (git-ignored) for the lent GPU machine, which has no network, no Node and no Vulkan
# loader: Node (xz), gradwise and the bench compiled to JS, Dawn's binding, TF.js, the test runner
# and its modules, and the libvulkan1 .deb. Run from anywhere after `npm ci`; see bench/GPU.md.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .carry && mkdir -p .carry
xz -T0 -6 -c "$(command -v node)" > .carry/node.xz                     # 99 MB -> 24 MB
npx tsc -p bench/tsconfig.carry.json                                   # -> .carry/build/{src,bench}
tar -C node_modules -cJf .carry/webgpu.tar.xz \
  webgpu/package.json webgpu/index.js webgpu/types.d.ts webgpu/dist/linux-x64   # Linux x64 only
(cd node_modules && tar -cJf ../.carry/tfjs.tar.xz @tensorflow/*/package.json \
  @tensorflow/*/dist/*.node.js @tensorflow/tfjs-backend-wasm/dist/*.wasm \
  seedrandom string_decoder safe-buffer node-fetch whatwg-url tr46 webidl-conversions long)
# vitest and what it loads; typescript transpiles the WebGPU worker when tests run from sources, and
# types.test.ts compiles a README program against the declarations (@webgpu/types, @types/node)
npx tsx bench/modules.ts vitest fast-check typescript @webgpu/types @types/node > .carry/test-modules.txt
(cd node_modules && tar -cJf ../.carry/test.tar.xz -T ../.carry/test-modules.txt)
(cd .carry && apt-get download libvulkan1)
du -sh .carry
