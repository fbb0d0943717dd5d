// gw_sin/gw_cos for elementwise kernels: WGSL bounds sin/cos only on [-pi, pi], so |x| > pi/4 is
// reduced exactly (Payne-Hanek, in u32 arithmetic) and [-pi/4, pi/4] is done by polynomials.
// 2/pi in 32-bit words after a zero word (bit b_p of 2/pi sits at bit index p + 31).
var<private> GW_2OPI: array<u32, 9> = array<u32, 9>(0u, 0xa2f9836eu, 0x4e441529u, 0xfc2757d1u,
  0xf534ddc0u, 0xdb629599u, 0x3c439041u, 0xfe5163abu, 0xdebbc561u);
// The high and low words of a * b (WGSL has no 64-bit integers).
fn gw_mul(a: u32, b: u32) -> vec2<u32> {
  let al = a & 0xffffu; let ah = a >> 16u; let bl = b & 0xffffu; let bh = b >> 16u;
  let ll = al * bl; let lh = al * bh; let hl = ah * bl;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  let hi = ah * bh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
  return vec2<u32>(hi, (mid << 16u) | (ll & 0xffffu));
}
// 32 bits of 2/pi starting sh bits into word wi.
fn gw_win(wi: u32, sh: u32) -> u32 {
  return select((GW_2OPI[wi] << sh) | (GW_2OPI[wi + 1u] >> (32u - sh)), GW_2OPI[wi], sh == 0u);
}
// a = M * 2^w > pi/4 as (q, r), a = (4k + q) * pi/2 + r with |r| <= pi/4: M times the 96 bits of
// 2/pi after those worth multiples of 4, mod 2^96, holds q (2 bits) and 94 fraction bits.
fn gw_reduce(a: f32) -> vec2<f32> {
  let bits = bitcast<u32>(a); let m = (bits & 0x7fffffu) | 0x800000u;
  let z = ((bits >> 23u) & 0xffu) - 120u; // w + 30 with w = exponent - 150
  let wi = z >> 5u; let sh = z & 31u;
  let p2 = gw_mul(m, gw_win(wi + 2u, sh)); let p1 = gw_mul(m, gw_win(wi + 1u, sh));
  let r1 = p1.y + p2.x;
  let r0 = m * gw_win(wi, sh) + p1.x + select(0u, 1u, r1 < p1.y);
  var q = r0 >> 30u;
  var fh = (r0 << 2u) | (r1 >> 30u);
  var fl = (r1 << 2u) | (p2.y >> 30u);
  // A fraction of 1/2 or more counts from the next quadrant: negate it in fixed point (exactly).
  let up = (fh >> 31u) == 1u;
  if (up) { q += 1u; fl = ~fl + 1u; fh = ~fh + select(0u, 1u, fl == 0u); }
  let f = f32(fh) * 2.3283064e-10 + f32(fl) * 5.421011e-20;
  return vec2<f32>(f32(q & 3u), select(f, -f, up) * 1.5707964);
}
// Taylor series on [-pi/4, pi/4]: truncation below 2e-9.
fn gw_sinp(r: f32) -> f32 {
  let s = r * r; let t = -0.0001984127 + s * 2.7557319e-6;
  return r + r * s * (-0.16666667 + s * (0.008333334 + s * t));
}
fn gw_cosp(r: f32) -> f32 {
  let s = r * r; let t = -0.0013888889 + s * (2.4801588e-5 - s * 2.7557319e-7);
  return 1.0 + s * (-0.5 + s * (0.041666668 + s * t));
}
fn gw_sin(a: f32) -> f32 {
  if (!(abs(a) > 0.7853982)) { return select(gw_sinp(a), a, gw_isnan(a) || a == 0.0); } // -0 stays -0
  if (gw_isinf(a)) { return gw_nan(); }
  let t = gw_reduce(abs(a));
  // Quadrants 0..3 give sin, cos, -sin, -cos of the remainder; sin is odd.
  let v = select(gw_sinp(t.y), gw_cosp(t.y), t.x == 1.0 || t.x == 3.0);
  return select(v, -v, (t.x >= 2.0) != (a < 0.0));
}
fn gw_cos(a: f32) -> f32 {
  if (!(abs(a) > 0.7853982)) { return select(gw_cosp(a), gw_nan(), gw_isnan(a)); }
  if (gw_isinf(a)) { return gw_nan(); }
  let t = gw_reduce(abs(a));
  // Quadrants 0..3 give cos, -sin, -cos, sin of the remainder; cos is even.
  let v = select(gw_cosp(t.y), gw_sinp(t.y), t.x == 1.0 || t.x == 3.0);
  return select(v, -v, t.x == 1.0 || t.x == 2.0);
}
