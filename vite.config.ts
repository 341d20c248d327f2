/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Monaco is bundled from node_modules (no CDN) and kept in its own chunk, `monaco-[hash].js`
// (+ `monaco-[hash].css`), loaded lazily with the editor; the app is `index-[hash].js`; the
// workers are `engine.worker-[hash].js` and `editor.worker-[hash].js`. bench/ reports them apart.
export default defineConfig({
  plugins: [react()],
  worker: {
    format: 'es',
  },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [{ name: 'monaco', test: /[\\/]node_modules[\\/]monaco-editor[\\/]/ }],
        },
      },
    },
  },
  preview: {
    port: 4173,
    strictPort: true,
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
