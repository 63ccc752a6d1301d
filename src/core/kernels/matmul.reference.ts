/** Float64 CPU reference of shaders/matmul.wgsl, independent of the kernel: C = A·B, row-major. */
export function matmulReference(A: ArrayLike<number>, B: ArrayLike<number>, M: number, K: number, N: number) {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      const a = A[i * K + k];
      for (let j = 0; j < N; j++) C[i * N + j] += a * B[k * N + j];
    }
  }
  return C;
}
