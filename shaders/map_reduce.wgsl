// First pass of a sum/max/min over an elementwise map's values, which are never stored: as
// reduce.wgsl, but element i is the spliced body's value at i (map_inputs.wgsl reads its inputs,
// or, none strided, the expression loads a0[i] or a0[0] itself: webgpu_source.ts directSource).
// Meta: words 0..93 as elementwise.wgsl (its shape is the reduced one), the reduction from word
// 96 as reduce.wgsl's from 0: 96 items, 97 chunks, 98 chunk length, 99 tpo, 100 op, 101 reduced
// count, 102/103 kept/reduced rank, 104.. kept shape, 109.. strides, 114.. reduced shape, 119..
// strides (rank 5 at most). Further passes are reduce.wgsl's.
fn gw_value(i: u32) -> f32 {
  var o = gw_offsets(i);
  /*splice:body*/
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tpo = gw_u(99u);
  let sl = gw_slice(wid, nwg, lid, 96u);
  let op = gw_u(100u);
  var acc = gw_identity(op);
  if (sl.item < gw_u(96u)) {
    let base = gw_offset(sl.m, gw_u(102u), 104u, 109u);
    for (var r = sl.r0 + sl.lane; r < sl.r1; r += tpo) {
      acc = gw_fold(acc, gw_value(base + gw_offset(r, gw_u(103u), 114u, 119u)), op);
    }
    dst[sl.item * tpo + sl.lane] = acc;
  }
}
