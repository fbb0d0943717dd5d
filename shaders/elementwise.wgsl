// Elementwise map dst[i] = EXPR; the worker splices the rendered body of gw_value (its shared
// subexpressions as lets, then `return EXPR;`) in place of the marker. Its inputs and their offsets come from map_inputs.wgsl (or, none strided, the expression
// loads them itself); shapes and strides from meta.
// Meta words: 0 n, 1 rank, 2 any strided input, 3 base (a dispatch of a map split over bindings
// covers outputs base..base+n-1), 4 where output base sits in the bindings of dst and same-layout
// inputs, 8..13 input modes (0 same layout as dst, 1 element 0, 2 strided, 3 dst itself: in-place
// ops, as one buffer may not be bound both read-only and writable), 16..23 shape, 24..71 strides
// (8 per input), 72..87 constants as f32 bits, 88..93 where strided inputs' bindings start.
fn gw_value(l: u32, i: u32) -> f32 {
  var o = gw_offsets(l);
  /*splice:body*/
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let l = gw_thread(gid);
  if (l >= gw_u(0u)) { return; }
  let i = l + gw_u(4u);
  dst[i] = gw_value(l, i);
}
