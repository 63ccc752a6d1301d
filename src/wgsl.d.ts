// WGSL files are imported as text; Vite, Vitest and the CLI loader (bin/raw-loader.mjs) all honour `?raw`.
declare module '*.wgsl?raw' {
  const source: string;
  export default source;
}
