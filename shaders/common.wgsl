// Prepended to every gradwise kernel: the 512-byte uniform meta block (128 u32 words, binding 0),
// the gw_* math helpers src/ops/render.ts calls (JS/PyTorch NaN and Inf semantics), index math.
struct GwMeta { w: array<vec4<u32>, 32> }
@group(0) @binding(0) var<uniform> gw_meta: GwMeta;
fn gw_u(k: u32) -> u32 { return gw_meta.w[k / 4u][k % 4u]; }
// Word 127 holds +inf's bits: WGSL has no inf/nan literals and rejects const-evaluated NaN.
fn gw_inf() -> f32 { return bitcast<f32>(gw_u(127u)); }
fn gw_nan() -> f32 { return bitcast<f32>(gw_u(127u) | 0x400000u); }
// Bit tests rather than a != a: WGSL lets compilers assume that NaN and Inf never occur.
fn gw_isnan(a: f32) -> bool { return (bitcast<u32>(a) & 0x7fffffffu) > 0x7f800000u; }
fn gw_isinf(a: f32) -> bool { return (bitcast<u32>(a) & 0x7fffffffu) == 0x7f800000u; }
fn gw_isfinite(a: f32) -> bool { return (bitcast<u32>(a) & 0x7fffffffu) < 0x7f800000u; }
fn gw_signbit(a: f32) -> bool { return (bitcast<u32>(a) >> 31u) == 1u; }
// A literal of a rendered expression from its float32 bits, ORed with 0 from word 127 (+inf's bits):
// no compiler can see its value, so none regroups a product around it or folds 0 * x to 0.
fn gw_lit(b: u32) -> f32 { return bitcast<f32>(b | (gw_u(127u) ^ 0x7f800000u)); }
// Constant j (meta words 72..87, f32 bits).
fn gw_c(j: u32) -> f32 { return bitcast<f32>(gw_u(72u + j)); }
// v read again (k = 1, 2, ...): word 127 is +inf's bits, so the OR adds 0, but no compiler can see
// that, nor that two reads are equal (lavapipe folded x - x to 0 where inf - inf is NaN).
fn gw_fresh(v: f32, k: u32) -> f32 { return bitcast<f32>(bitcast<u32>(v) | ((gw_u(127u) ^ 0x7f800000u) * k)); }
// A result rounded to float32 where it is written: NVIDIA's compiler fused a * b + c into one fma
// (one rounding where PyTorch rounds twice: 6 % of W2's c = a * b + 2 was 1 ulp off), and SPIR-V
// lets it reassociate sums too. The OR of 0 from word 127 is opaque, so the value must exist.
fn gw_rn(v: f32) -> f32 { return gw_fresh(v, 1u); }
// Sign and magnitude by their bits: NVIDIA flushes a subnormal through a float negate or abs.
fn gw_neg(a: f32) -> f32 { return bitcast<f32>(bitcast<u32>(a) ^ 0x80000000u); }
fn gw_abs(a: f32) -> f32 { return bitcast<f32>(bitcast<u32>(a) & 0x7fffffffu); }
fn gw_nanif(r: f32, a: f32, b: f32) -> f32 { return select(r, gw_nan(), gw_isnan(a)|gw_isnan(b)); }
fn gw_sign(a: f32) -> f32 { return f32(a > 0.0) - f32(a < 0.0); }  // NaN gives 0, as JS_PRELUDE
// The operand chosen among opaque copies: NVIDIA made select(b, a, a > b) an fmax, which orders -0
// below 0 (PyTorch gives the second operand on a tie: maximum(-0, 0) is 0, maximum(0, -0) is -0).
fn gw_pick(b: f32, a: f32, c: bool) -> f32 { return select(gw_rn(b), gw_rn(a), c); }
fn gw_maximum(a: f32, b: f32) -> f32 { return gw_nanif(gw_pick(b, a, a > b), a, b); }
fn gw_minimum(a: f32, b: f32) -> f32 { return gw_nanif(gw_pick(b, a, a < b), a, b); }
fn gw_sqrt(a: f32) -> f32 { return select(sqrt(a), gw_nan(), a < 0.0 || gw_isnan(a)); }
// log of a finite a > 0: a = m 2^e with m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact), and
// log(1 + f) = 2 atanh(s), s = f / (2 + f), as f - f^2/2 + s (f^2/2 + R(s^2)). The builtin's error is
// absolute, not relative, near 1 (2e6 ulp at 0.9999996 on lavapipe). A subnormal a is scaled by 2^23.
fn gw_ln(a: f32) -> f32 {
  let d = a < 1.1754944e-38;
  let u = bitcast<u32>(select(a, a * 8388608.0, d));
  let big = (u & 0x7fffffu) > 0x3504f3u; // the mantissa past sqrt(2): halved
  let m = bitcast<f32>((u & 0x7fffffu) | select(0x3f800000u, 0x3f000000u, big));
  let e = f32(i32(u >> 23u) - select(127, 126, big)) - select(0.0, 23.0, d);
  let f = m - 1.0; let s = gw_div(f, 2.0 + f); let z = s * s; let h = 0.5 * f * f;
  let r = z * (0.6666667 + z * (0.4 + z * (0.2857143 + z * 0.22222222)));
  return e * 0.693145751953125 + ((f - (h - s * (h + r))) + e * 1.4286068e-6);
}
// IEEE answers for 0, negatives, Inf and NaN, which builtins leave undefined.
fn gw_log(a: f32) -> f32 {
  let r = select(select(gw_ln(a), a, gw_isinf(a)), -gw_inf(), a == 0.0);
  return select(r, gw_nan(), a < 0.0 || gw_isnan(a));
}
// Error-free steps need every intermediate rounded where written: without WGSL's missing `precise`,
// SPIR-V lets a driver reassociate and contract (NVIDIA did), so each one goes through gw_rn.
// x = h + l with 12-bit halves (Veltkamp), so that products of halves are exact.
fn gw_split(x: f32) -> vec2<f32> {
  let c = gw_rn(4097.0 * x);
  let h = gw_rn(c - gw_rn(c - x));
  return vec2<f32>(h, gw_rn(x - h));
}
// a b = p + e exactly (Dekker's product, no fma: lavapipe's is not fused), for a b and its halves'
// products neither overflowing nor subnormal.
fn gw_prod(a: f32, b: f32) -> vec2<f32> {
  let x = gw_split(a);
  let y = gw_split(b);
  let p = gw_rn(a * b);
  return vec2<f32>(p, gw_rn(gw_rn(gw_rn(gw_rn(x.x * y.x) - p) + gw_rn(x.x * y.y)) + gw_rn(x.y * y.x)) + gw_rn(x.y * y.y));
}
// m / n for m, n in [1, 2), rounded once as PyTorch's: NVIDIA's WGSL / was 1 ulp off for 5 in 400.
// One correction: r = m - q n exactly (q n as a product and its error), then q + r / n is the nearest quotient.
fn gw_divm(m: f32, n: f32) -> f32 {
  let q = gw_rn(m / n);
  let p = gw_prod(q, n);
  return q + gw_rn(gw_rn(gw_rn(m - p.x) - p.y) / n);
}
// m^3 for m >= 0 rounded once, as C's pow (PyTorch's with a tensor exponent; (m m) m was 1 ulp off
// for a quarter of them). m = f 2^e with f in [1, 2): f f = p + a and p f = q + b exactly, then
// c = q + (b + a f) is f^3 rounded once (its error is far below half an ulp of q; every term is
// normal, as it was not for tiny m), scaled by 2^(3e) in two exact factors (no ldexp past its range)
// and a last multiplication: exact for a normal cube, Inf past FLT_MAX; a subnormal cube may be 1 ulp off.
fn gw_cube(m: f32) -> f32 {
  let u = bitcast<u32>(m);
  let e3 = 3 * (i32(u >> 23u) - 127);
  if (u < 0x800000u || e3 < -170) { return 0.0; } // below 2^-167
  if (e3 > 128) { return gw_inf(); } // from 2^129; Inf and NaN are gw_pow's
  let f = bitcast<f32>((u & 0x7fffffu) | 0x3f800000u);
  let s = gw_prod(f, f);
  let t = gw_prod(s.x, f);
  let c = gw_rn(t.x + gw_rn(t.y + gw_rn(s.y * f)));
  return gw_rn(gw_rn(c * ldexp(1.0, e3 / 2)) * ldexp(1.0, e3 - e3 / 2));
}
// a / b for b != 0 or NaN, rounded once as PyTorch's: for normal a and b with a normal quotient,
// the mantissas through gw_divm, scaled by 2^(ea - eb) exactly (q in (1/2, 2), -125 <= e <= 127),
// the sign from the bits; else (subnormals, overflow, Inf, NaN) the builtin. Where the device's own
// division rounds once (a probe when it opens: lavapipe's does, NVIDIA's does not),
// src/backend/dawn.ts renames this one and gw_quot_exact takes its name (nothing calls the other,
// so no compiler sees it: inlined everywhere, it tripled compile times on lavapipe).
fn gw_quot(a: f32, b: f32) -> f32 {
  let ua = bitcast<u32>(a) & 0x7fffffffu;
  let ub = bitcast<u32>(b) & 0x7fffffffu;
  let e = i32(ua >> 23u) - i32(ub >> 23u);
  if (ua >= 0x800000u && ua < 0x7f800000u && ub >= 0x800000u && ub < 0x7f800000u && e >= -125 && e <= 127) {
    let m = bitcast<f32>((ua & 0x7fffffu) | 0x3f800000u);
    let n = bitcast<f32>((ub & 0x7fffffu) | 0x3f800000u);
    let q = bitcast<u32>(gw_rn(gw_divm(m, n) * ldexp(1.0, e)));
    return bitcast<f32>(q | ((bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u));
  }
  return a / b;
}
fn gw_quot_exact(a: f32, b: f32) -> f32 { return a / b; }
// a / b with IEEE answers where builtins may differ: NaN for 0 / 0, signed Inf for x / 0.
fn gw_div(a: f32, b: f32) -> f32 {
  if (b != 0.0 || gw_isnan(b)) { return gw_quot(a, b); }
  if (a == 0.0 || gw_isnan(a)) { return gw_nan(); }
  return select(gw_inf(), -gw_inf(), gw_signbit(a) != gw_signbit(b));
}
// 2^e where the result is subnormal (e < -126): builtin exp2 flushes it to 0 (lavapipe), so the
// result is taken at e + 64 and scaled by 2^-64 in a multiplication, which keeps subnormals.
// Below 2^-25 in magnitude 2^e rounds to 1 (lavapipe's exp2(-1e-28) was 1 ulp below: pow(1e-30, 1e-30)).
fn gw_exp2(e: f32) -> f32 { return select(select(exp2(e), exp2(e + 64.0) * 5.421011e-20, e < -126.0), 1.0, abs(e) < 2.9802322e-8); }
// exp(a) = 2^n exp(r) with r = a - n ln2 in two parts (Cody-Waite): the builtin, like exp2(a log2 e),
// loses |a| 2^-24 of relative precision in the product (up to 62 ulp near |a| = 85 on lavapipe). 2^n
// is taken in two factors and multiplied in, which keeps subnormals; past the range, the builtin.
fn gw_exp(a: f32) -> f32 {
  let n = round(a * 1.442695);
  let r = (a - n * 0.693145751953125) - n * 1.4286068e-6;
  let h = floor(n * 0.5);
  return select(exp(r) * ldexp(1.0, i32(h)) * ldexp(1.0, i32(n - h)), exp(a), gw_isnan(a) || !(abs(a) < 104.0) || a > 88.75);
}
// log2 of a finite m > 0: near 1 through gw_ln (the builtin's error is absolute there); elsewhere the
// builtin, which rounds once (gw_ln * log2(e) rounds twice: x^4 was 22 ulp off, not 13), with a
// subnormal m scaled by 2^23 first.
fn gw_log2(m: f32) -> f32 {
  let d = m < 1.1754944e-38;
  let b = log2(select(m, m * 8388608.0, d)) - select(0.0, 23.0, d);
  return select(b, gw_ln(m) * 1.442695, abs(m - 1.0) < 0.25);
}
// exp(a) - 1 cancels below 1 (gw_exp's 2-3 ulp grow as the difference shrinks): a Taylor series to
// a^15/15! keeps |a| < 1.25 within 1e-10 relative (4 ulp at most in a 0.001-step sweep of -30..30).
fn gw_expm1(a: f32) -> f32 {
  let e = select(gw_exp(a) - 1.0, gw_inf(), a > 88.72284);
  if (!(abs(a) < 1.25)) { return select(e, a, gw_isnan(a)); }
  var t = a; var s = a;
  for (var k = 2.0; k < 16.0; k += 1.0) { t *= gw_div(a, k); s += t; }
  return select(s, a, a == 0.0); // -0 stays -0
}
// log1p(a) = 2 atanh(s) with s = a / (2 + a): a short odd series for |a| < 0.25; past it, log(u)
// for u = 1 + a, plus (a - (u - 1)) / u, what rounding u lost (u opaque: lavapipe folded u - 1 to a).
fn gw_log1p(a: f32) -> f32 {
  if (!(abs(a) < 0.25)) { let u = gw_fresh(1.0 + a, 1u); return gw_log(u) + select(gw_div(a - (u - 1.0), u), 0.0, gw_isinf(u) || !(u > 0.0)); }
  let s = gw_div(a, 2.0 + a); let q = s * s;
  return 2.0 * s * (1.0 + q * (0.33333334 + q * (0.2 + q * (0.14285715 + q * 0.11111111))));
}
// expm1 form: no Inf/Inf for large |a| and no cancellation near 0; sign bit kept for -0.
fn gw_tanh(a: f32) -> f32 {
  let e = gw_expm1(2.0 * min(abs(a), 10.0));
  let t = gw_div(e, e + 2.0);
  return select(select(t, gw_neg(t), gw_signbit(a)), a, gw_isnan(a));
}
// An integer power (int64 tensors, PyTorch's integer kernel) by squaring: exact while the result
// fits float32's 24 bits. A negative exponent gives 1 for 1, +-1 for -1 (by parity), else 0.
fn gw_ipow(a: f32, b: f32) -> f32 {
  if (b < 0.0) { return select(select(0.0, select(-1.0, 1.0, fract(b * 0.5) == 0.0), a == -1.0), 1.0, a == 1.0); }
  var r = 1.0;
  var x = a;
  var e = b;
  loop {
    if (e < 1.0) { break; }
    let h = floor(e * 0.5);
    if (e - 2.0 * h == 1.0) { r = r * x; }
    e = h;
    if (e >= 1.0) { x = x * x; }
  }
  return r;
}
// C pow: 1 for a == 1 or b == 0; a negative base needs an integral exponent (sign by parity).
fn gw_pow(a: f32, b: f32) -> f32 {
  if (a == 1.0 || b == 0.0) { return 1.0; }
  if (gw_isnan(a) || gw_isnan(b)) { return gw_nan(); }
  if (b == 1.0) { return a; }
  let m = abs(a);
  // Squares, cubes and reciprocals by multiplication and division: through exp2/log2, NVIDIA's
  // (-3) ** 3 was -27.000002 (its builtins are 2-3 ulp off; a cube of an integer is exact).
  var r = select(gw_exp2(b * gw_log2(m)), a * a, b == 2.0);
  if (b == 3.0) { r = gw_cube(m); }
  if (b == -1.0) { r = gw_div(1.0, m); }
  if (m == 0.0 || gw_isinf(m)) { r = select(0.0, gw_inf(), (m == 0.0) != (b > 0.0)); }
  if (gw_isinf(b)) { return select(select(0.0, gw_inf(), (m > 1.0) == (b > 0.0)), 1.0, m == 1.0); }
  if (!gw_signbit(a)) { return r; }
  if (floor(b) != b) { return select(gw_nan(), r, m == 0.0 || gw_isinf(m)); }
  return select(r, -r, fract(b * 0.5) == 0.5);
}
// Invocation index in a grid of 256-wide workgroups folded into 2-D past 65535 workgroups.
fn gw_index(w: vec3<u32>, n: vec3<u32>, l: u32) -> u32 { return (w.y * n.x + w.x) * 256u + l; }
// The same from global_invocation_id and word 95, the threads per grid row (set for every
// dispatch): lavapipe ran a memory-bound map slower through num_workgroups (measured standalone).
fn gw_thread(id: vec3<u32>) -> u32 { return id.x + id.y * gw_u(95u); }
