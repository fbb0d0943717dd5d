// Benchmark ceiling (bench/devbw.ts): a copy kernel, dst = src, four floats per thread: the
// device's own copy bandwidth through a compute shader, next to copyBufferToBuffer.
struct Params { n: u32, row: u32 }
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x + id.y * p.row;
  if (i >= p.n) { return; }
  dst[i] = src[i];
}
