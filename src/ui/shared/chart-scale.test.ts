import { describe, expect, it } from 'vitest';
import { kindOf, PALETTE } from './chart-scale';
import { maskPictureSize } from './MaskPicture';

/** sRGB hex → CIE L*a*b* (D65), the textbook formulas, for colour differences a person sees. */
function lab(hex: string): [number, number, number] {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const xyz = [
    (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
    0.2126 * r + 0.7152 * g + 0.0722 * b,
    (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
  ].map((t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 / 116) * t + 16 / 116));
  return [116 * xyz[1] - 16, 500 * (xyz[0] - xyz[1]), 200 * (xyz[1] - xyz[2])];
}

describe('chart colours', () => {
  it('tell every kind of linear apart (CIE76 ΔE of at least 20 between any two)', () => {
    // The walkthrough found k_proj (#d9480f) and gate_proj (#e8590c) nearly identical (ΔE ≈ 6).
    expect(Math.hypot(...lab('#d9480f').map((v, i) => v - lab('#e8590c')[i]))).toBeLessThan(10);
    for (let i = 0; i < PALETTE.length; i++) {
      for (let j = i + 1; j < PALETTE.length; j++) {
        const a = lab(PALETTE[i]);
        const b = lab(PALETTE[j]);
        const deltaE = Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
        expect(deltaE, `${PALETTE[i]} against ${PALETTE[j]}`).toBeGreaterThanOrEqual(20);
      }
    }
  });

  it('name kinds by the last part of the linear name', () => {
    expect(kindOf('mlp.down_proj')).toBe('down_proj');
    expect(kindOf('self_attn.q_proj')).toBe('q_proj');
  });
});

describe('mask pictures', () => {
  it('keep the layer aspect: a 64×172 layer is drawn wide, not square', () => {
    expect(maskPictureSize(64, 172, 200)).toEqual({ width: 200, height: 74 });
    expect(maskPictureSize(172, 64, 200)).toEqual({ width: 74, height: 200 });
    expect(maskPictureSize(64, 64, 180)).toEqual({ width: 180, height: 180 });
    // A very flat layer keeps a visible height.
    expect(maskPictureSize(8, 4096, 200).height).toBe(24);
  });
});
