// Shared by the tree reductions (reduce.wgsl, arg_reduce.wgsl): which output item and chunk this
// thread folds. Meta: 0 items, 1 chunks per output, 2 chunk length, 3 threads per item (tpo),
// 5 reduced count. Items past word 0 are padding threads that fold nothing.
struct GwSlice {
  item: u32,  // (output m, chunk) pair handled by this thread's group of tpo lanes
  lane: u32,  // this thread's lane within the item
  m: u32,     // output index
  r0: u32,    // the chunk's reduced range [r0, r1)
  r1: u32,
}
fn gw_slice(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> GwSlice {
  let tpo = gw_u(3u);
  let item = (gw_index(wid, nwg, 0u) / tpo) + lid / tpo;
  let r0 = (item % gw_u(1u)) * gw_u(2u);
  return GwSlice(item, lid % tpo, item / gw_u(1u), r0, min(r0 + gw_u(2u), gw_u(5u)));
}
