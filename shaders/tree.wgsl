// Shared by the tree reductions (reduce.wgsl, arg_reduce.wgsl, map_reduce.wgsl): which output
// item and chunk this thread folds. Meta from word b: b items, b+1 chunks per output, b+2 chunk
// length, b+3 threads per item (tpo), b+5 reduced count. Items past word b are padding threads.
struct GwSlice {
  item: u32,  // (output m, chunk) pair handled by this thread's group of tpo lanes
  lane: u32,  // this thread's lane within the item
  m: u32,     // output index
  r0: u32,    // the chunk's reduced range [r0, r1)
  r1: u32,
}
fn gw_slice(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, b: u32) -> GwSlice {
  let tpo = gw_u(b + 3u);
  let item = (gw_index(wid, nwg, 0u) / tpo) + lid / tpo;
  let r0 = (item % gw_u(b + 1u)) * gw_u(b + 2u);
  return GwSlice(item, lid % tpo, item / gw_u(b + 1u), r0, min(r0 + gw_u(b + 2u), gw_u(b + 5u)));
}
// Offset of row-major index i over the shape at word sh0 read through the strides at word st0
// (i is in range: the outermost dim takes what is left, without a division). Rank 1 returns
// before the loop: through its zero iterations a sum ran 3x slower (lavapipe, standalone).
fn gw_offset(i: u32, rank: u32, sh0: u32, st0: u32) -> u32 {
  if (rank <= 1u) { return select(0u, i * gw_u(st0), rank == 1u); }
  var rem = i;
  var off = 0u;
  for (var d = rank - 1u; d > 0u; d--) {
    let n = gw_u(sh0 + d);
    off += (rem % n) * gw_u(st0 + d);
    rem = rem / n;
  }
  return off + rem * gw_u(st0);
}
// op 0 sum, 1 max, 2 min.
fn gw_fold(a: f32, b: f32, op: u32) -> f32 {
  return select(select(gw_minimum(a, b), gw_maximum(a, b), op == 1u), a + b, op == 0u);
}

// The identity of op.
fn gw_identity(op: u32) -> f32 { return select(select(gw_inf(), -gw_inf(), op == 1u), 0.0, op == 0u); }
