/** How far a float32 GPU result is from its float64 reference. */

/** Largest |actual − expected| relative to the largest |expected|; throws if the lengths differ. */
export function relativeMaxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`compared arrays differ in length: ${actual.length} and ${expected.length}`);
  }
  let maxError = 0;
  let maxExpected = 0;
  for (let i = 0; i < expected.length; i++) {
    maxError = Math.max(maxError, Math.abs(actual[i] - expected[i]));
    maxExpected = Math.max(maxExpected, Math.abs(expected[i]));
  }
  return maxError / Math.max(maxExpected, 1e-30);
}
