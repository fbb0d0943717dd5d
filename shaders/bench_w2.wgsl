// Benchmark ceiling for W2 (bench/systems/wgsl.ts): c = a * b + 2 in one raw dispatch, no
// broadcasting or uniforms beyond n. Standalone: not part of gradwise, not prefixed by common.wgsl.
struct Params { n: u32, row: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x + id.y * p.row;  // row = threads per grid row, for grids over 65535 workgroups
  if (i >= p.n) { return; }
  c[i] = a[i] * b[i] + 2.0;
}
