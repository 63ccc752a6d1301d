// activations.wgsl — not a kernel: element-wise activation functions that the hosts of linear.wgsl,
// linear_unaligned.wgsl and swiglu.wgsl prepend to those shaders, so that every kernel applies exactly the same
// formulas (attention_causal.wgsl and softcap.wgsl take stable_tanh from here too). Codes (the ACTIVATION override
// of those kernels): 0 identity, 1 relu, 2 gelu with the tanh approximation (gelu_new, gelu_pytorch_tanh), 3 exact
// gelu (erf), 4 silu.

// tanh through exp of a non-positive argument: never overflows, and does not depend on the accuracy of a
// platform's tanh for large inputs.
fn stable_tanh(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(-t, t, x >= 0.0);
}

// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, under f32 rounding of gelu's result).
fn erf_approx(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let y = 1.0 - poly * exp(-a * a);
  return select(-y, y, x >= 0.0);
}

fn activate(x: f32, kind: u32) -> f32 {
  switch kind {
    case 1u: { return max(x, 0.0); }
    case 2u: { return 0.5 * x * (1.0 + stable_tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
    case 3u: { return 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
    case 4u: { return x / (1.0 + exp(-x)); }
    default: { return x; }
  }
}
