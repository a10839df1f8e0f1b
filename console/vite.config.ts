import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The console is static files the gateway serves at /console. Everything is bundled (no CDN), and
 * nothing is inlined into index.html: the pages run under a CSP without 'unsafe-inline' scripts.
 */
export default defineConfig({
  root: here('.'),
  base: '/console/',
  plugins: [vue()],
  // `npx vite --config console/vite.config.ts`: live reload against a running gateway's API.
  server: { proxy: { '/console/api': process.env.CONSOLE_API_TARGET ?? 'http://127.0.0.1:8080' } },
  build: {
    outDir: here('../dist/console'),
    emptyOutDir: true,
    // Module preloading needs no polyfill in the browsers operators use; the polyfill would be a
    // script Vite adds to the entry.
    modulePreload: { polyfill: false },
    // Assets small enough to inline would become data: URLs; keep them files for a plain CSP.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 800,
    reportCompressedSize: true,
  },
});
