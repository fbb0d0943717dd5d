// Elementwise map over contiguous data, four floats per thread (vector loads and stores: compare
// bench's wgsl-w2 and wgsl-w2-vec4 rows). Input j is read in the output's layout through
// aj (float4s) or is one element, sj[0]: both names are declared at its binding and the body uses
// one. The main thread renders gw_lanes' body, the expression once per lane, in place of the marker.
// Meta words: 0 the number of float4s, 72..87 constants as f32 bits (as elementwise.wgsl).
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> a0: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> a1: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> a2: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> a3: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> a5: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> s0: array<f32>;
@group(0) @binding(3) var<storage, read> s1: array<f32>;
@group(0) @binding(4) var<storage, read> s2: array<f32>;
@group(0) @binding(5) var<storage, read> s3: array<f32>;
@group(0) @binding(6) var<storage, read> s4: array<f32>;
@group(0) @binding(7) var<storage, read> s5: array<f32>;

fn gw_lanes(i: u32) -> vec4<f32> {
  /*splice:body*/
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gw_thread(gid);
  if (i >= gw_u(0u)) { return; }
  dst[i] = gw_lanes(i);
}
