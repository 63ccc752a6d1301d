import { defineConfig } from 'vite';

// The CLI as plain JavaScript for the npm package: src/cli/main.ts and the core it imports (WGSL inlined through
// the same `?raw` imports the app uses) in dist-cli/sparsegpt.mjs. Packages stay imports, resolved from the
// installed `dependencies` (webgpu carries Dawn's native binary).
export default defineConfig({
  publicDir: false,
  build: {
    ssr: 'src/cli/main.ts',
    outDir: 'dist-cli',
    emptyOutDir: true,
    target: 'node20',
    sourcemap: false,
    minify: false,
    rollupOptions: { output: { entryFileNames: 'sparsegpt.mjs', format: 'es' } },
  },
  ssr: { target: 'node' },
});
