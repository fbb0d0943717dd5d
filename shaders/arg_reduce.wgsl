// One pass of argmax/argmin as a tree reduction over (value, index) pairs; the first NaN wins, then
// the extreme, ties to the lower index, so any combining order gives the sequential answer.
// Meta as in reduce.wgsl (op 1 max, 2 min, kept rank 2 then 1, reduced rank 1, 41..43 too); word
// 40: pass 2+ reads indices from srci, pass 1 uses the position along the axis plus word 44.
@group(0) @binding(1) var<storage, read_write> dstv: array<f32>;
@group(0) @binding(2) var<storage, read_write> dsti: array<f32>;
@group(0) @binding(3) var<storage, read> srcv: array<f32>;
@group(0) @binding(4) var<storage, read> srci: array<f32>;
var<workgroup> shv: array<f32, 256>;
var<workgroup> shi: array<u32, 256>;
const EMPTY = 0xffffffffu;

// Whether (vb, ib) should replace (va, ia).
fn gw_better(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
  if (ib == EMPTY || ia == EMPTY) { return ia == EMPTY && ib != EMPTY; }
  if (gw_isnan(va) || gw_isnan(vb)) { return gw_isnan(vb) && (!gw_isnan(va) || ib < ia); }
  if (vb == va) { return ib < ia; }
  return select((vb < va), (vb > va), gw_u(4u) == 1u);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tpo = gw_u(3u);
  let sl = gw_slice(wid, nwg, lid, 0u);
  var bv = 0.0;
  var bi = EMPTY;
  if (sl.item < gw_u(0u)) {
    // Kept dims are (outer, inner) or (m), the reduced dim is one: unravel by hand.
    let inner = select(1u, gw_u(9u), gw_u(6u) == 2u);
    let base = (sl.m / inner) * gw_u(16u) + (sl.m % inner) * select(0u, gw_u(17u), gw_u(6u) == 2u);
    for (var r = sl.r0 + sl.lane; r < sl.r1; r += tpo) {
      let at = base + r * gw_u(32u) + gw_u(41u);
      let v = srcv[at];
      let ix = select(r + gw_u(44u), u32(srci[at]), gw_u(40u) == 1u);
      if (gw_better(bv, bi, v, ix)) { bv = v; bi = ix; }
    }
  }
  shv[lid] = bv;
  shi[lid] = bi;
  for (var s = tpo / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (sl.lane < s && gw_better(shv[lid], shi[lid], shv[lid + s], shi[lid + s])) {
      shv[lid] = shv[lid + s];
      shi[lid] = shi[lid + s];
    }
  }
  if (sl.lane == 0u && sl.item < gw_u(0u)) {
    let d = sl.item + gw_u(42u);
    let keep = gw_u(43u) == 1u && !gw_better(dstv[d], u32(dsti[d]), shv[lid], shi[lid]);
    if (!keep) { dstv[d] = shv[lid]; dsti[d] = f32(shi[lid]); }
  }
}
