// Run once when a device opens (src/backend/dawn.ts divisionRoundsOnce): v[i] = v[i] / v[i + 16384]
// with the device's own division, to learn whether it rounds once (gw_exact_div in common.wgsl).
@group(0) @binding(0) var<storage, read_write> v: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) i: vec3u) { v[i.x] = v[i.x] / v[i.x + 16384u]; }
