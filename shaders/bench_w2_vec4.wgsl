// Benchmark ceiling for W2 (bench/systems/wgsl.ts): c = a * b + 2, four elements per thread.
// n counts vec4s; buffers are padded to a multiple of 4 floats. Standalone, as bench_w2.wgsl.
// Entry point `copy` (bench/devbw.ts's copy ceiling): c = a, bindings 0, 2 and 3 only.
struct Params { n: u32, row: u32 }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x + id.y * p.row;
  if (i >= p.n) { return; }
  c[i] = a[i] * b[i] + vec4<f32>(2.0);
}

@compute @workgroup_size(256)
fn copy(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x + id.y * p.row;
  if (i >= p.n) { return; }
  c[i] = a[i];
}
