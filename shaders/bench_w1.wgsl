// Benchmark reference for W1 (bench/systems/wgsl_w1.ts): the tutorial step as three raw
// dispatches, as a hand-written WebGPU program would run it: forward, loss = mean(2 (x+2)^2) as
// partial sums (each thread folds a grid-stride loop, each workgroup its threads), then one
// workgroup's total; backward, x.grad = 4/n (x+2), four floats per thread (n % 4 == 0).
// Standalone, as bench_w2.wgsl.
struct Params { n: u32, row: u32, groups: u32, inv: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> g: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<storage, read> x4: array<vec4<f32>>;
var<workgroup> acc: array<f32, 256>;

fn fold(l: u32) {
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (l < s) { acc[l] += acc[l + s]; }
    workgroupBarrier();
  }
}

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) id: vec3u, @builtin(local_invocation_index) l: u32,
           @builtin(workgroup_id) w: vec3u) {
  var v = 0.0;
  for (var i = id.x; i < p.n; i += p.groups * 256u) { let y = x[i] + 2.0; v += y * y * 2.0; }
  acc[l] = v;
  fold(l);
  if (l == 0u) { part[w.x] = acc[0]; }
}

@compute @workgroup_size(256)
fn total(@builtin(local_invocation_index) l: u32) {
  var v = 0.0;
  for (var k = l; k < p.groups; k += 256u) { v += part[k]; }
  acc[l] = v;
  fold(l);
  if (l == 0u) { loss[0] = acc[0] * p.inv; }
}

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x + id.y * p.row;
  if (i >= p.n / 4u) { return; }
  g[i] = 4.0 * p.inv * (x4[i] + 2.0);
}
