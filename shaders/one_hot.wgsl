// One-hot: dst[(o * len + k) * inner + j] = 1 where idx[o * inner + j] == k, else 0; every output
// element is written, so the destination needs no clearing. Meta: 0 n, 1 len (axis), 2 inner,
// 3 base (this dispatch writes outputs base..), 4 idx's binding start, 5 base within dst's binding.
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let l = gw_thread(gid);
  if (l >= gw_u(0u)) { return; }
  let i = l + gw_u(3u);
  let inner = gw_u(2u);
  let len = gw_u(1u);
  let j = i % inner;
  let k = (i / inner) % len;
  let o = i / (inner * len);
  dst[l + gw_u(5u)] = select(0.0, 1.0, idx[o * inner + j - gw_u(4u)] == f32(k));
}
