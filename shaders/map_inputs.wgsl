// Inputs of an elementwise expression (elementwise.wgsl, map_reduce.wgsl): input j reads as
// gw_aj(i, o[j]) and constant j as gw_c(ju); meta words as elementwise.wgsl's header lists.
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> a0: array<f32>;
@group(0) @binding(3) var<storage, read> a1: array<f32>;
@group(0) @binding(4) var<storage, read> a2: array<f32>;
@group(0) @binding(5) var<storage, read> a3: array<f32>;
@group(0) @binding(6) var<storage, read> a4: array<f32>;
@group(0) @binding(7) var<storage, read> a5: array<f32>;

// Where input j is read for output i: i, 0, or its strided offset o.
fn gw_at(j: u32, i: u32, o: u32) -> u32 {
  let m = gw_u(8u + j);
  return select(select(o, 0u, m == 1u), i, m == 0u);
}
fn gw_in(j: u32) -> bool { return gw_u(8u + j) != 3u; }
fn gw_a0(i: u32, o: u32) -> f32 { if (gw_in(0u)) { return a0[gw_at(0u, i, o)]; } return dst[i]; }
fn gw_a1(i: u32, o: u32) -> f32 { if (gw_in(1u)) { return a1[gw_at(1u, i, o)]; } return dst[i]; }
fn gw_a2(i: u32, o: u32) -> f32 { if (gw_in(2u)) { return a2[gw_at(2u, i, o)]; } return dst[i]; }
fn gw_a3(i: u32, o: u32) -> f32 { if (gw_in(3u)) { return a3[gw_at(3u, i, o)]; } return dst[i]; }
fn gw_a4(i: u32, o: u32) -> f32 { if (gw_in(4u)) { return a4[gw_at(4u, i, o)]; } return dst[i]; }
fn gw_a5(i: u32, o: u32) -> f32 { if (gw_in(5u)) { return a5[gw_at(5u, i, o)]; } return dst[i]; }

// Offsets of every strided input at output index l: base + l unravelled over the shape, through
// each input's strides, less where its binding starts.
fn gw_offsets(l: u32) -> array<u32, 6> {
  var o = array<u32, 6>(0u, 0u, 0u, 0u, 0u, 0u);
  if (gw_u(2u) == 0u) { return o; }
  for (var j = 0u; j < 6u; j++) { o[j] = 0u - gw_u(88u + j); }
  var rem = l + gw_u(3u);
  for (var d = gw_u(1u); d > 0u; d--) {
    let n = gw_u(15u + d);
    let q = rem % n;
    rem = rem / n;
    for (var j = 0u; j < 6u; j++) { o[j] += q * gw_u(23u + j * 8u + d); }
  }
  return o;
}
