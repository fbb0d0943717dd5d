// One pass of a sum/max/min tree reduction: item = (output m, chunk c); tpo threads per item each
// fold a strided slice of the chunk into partial item * tpo + lane. Passes repeat until tpo is 1.
// Meta: 0 items, 1 chunks, 2 chunk length, 3 tpo, 4 op (0 sum, 1 max, 2 min), 5 reduced count,
// 6/7 kept/reduced rank, 8..15 kept shape, 16..23 kept strides, 24..31 red shape, 32..39 strides,
// 41/42 where src/dst start within their bindings, 43: 1 folds results into dst's current values.
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tpo = gw_u(3u);
  let sl = gw_slice(wid, nwg, lid, 0u);
  let op = gw_u(4u);
  var acc = gw_identity(op);
  if (sl.item < gw_u(0u)) {
    let base = gw_offset(sl.m, gw_u(6u), 8u, 16u) + gw_u(41u);
    for (var r = sl.r0 + sl.lane; r < sl.r1; r += tpo) {
      acc = gw_fold(acc, src[base + gw_offset(r, gw_u(7u), 24u, 32u)], op);
    }
    let d = sl.item * tpo + sl.lane + gw_u(42u);
    dst[d] = select(acc, gw_fold(dst[d], acc, op), gw_u(43u) == 1u);
  }
}
