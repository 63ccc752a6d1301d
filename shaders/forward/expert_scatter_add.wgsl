// expert_scatter_add.wgsl — the weighted return of one expert's output to the residual stream of a mixture-of-experts
// MLP: for each route k < count, Y[yRowStart + dst, :] += weight · X[src, :], with (dst, src, weight) the route's
// three words in routes[routeStart + 3k …] (the weight's f32 bits as a u32). dst is the token's row within the token
// slice, src the row of the expert's output that holds it, weight its routing weight (softmax over the router's
// logits, top-k, renormalised where the model says so). A token reaches an expert at most once, so no two routes of
// one dispatch write the same row; experts are dispatched one after the other, in expert order.
//
// Bindings: 0 X (the expert's down projection [*, features]), 1 routes (u32), 2 Y (read_write [*, features]),
//           3 params.
// Dispatch: count·features invocations, workgroups of 256 over a 2-D grid (x ≤ 65535).

struct Params { count: u32, features: u32, routeStart: u32, yRowStart: u32 }

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> routes: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let index = (wid.y * groups.x + wid.x) * 256u + lane;
  if (index >= params.count * params.features) { return; }
  let route = params.routeStart + 3u * (index / params.features);
  let feature = index % params.features;
  let dst = routes[route];
  let src = routes[route + 1u];
  let weight = bitcast<f32>(routes[route + 2u]);
  let y = (params.yRowStart + dst) * params.features + feature;
  Y[y] += weight * X[src * params.features + feature];
}
