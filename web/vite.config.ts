/**
 * Vite build of the web app into dist/web (served by every node at `/`). The crypto layer's one
 * platform file (node:crypto) is swapped for the browser's: everything else of src/ is shared.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const BROWSER_PLATFORM = fileURLToPath(new URL('./src/platform.browser.ts', import.meta.url));
const CRYPTO_DIR = fileURLToPath(new URL('../src/crypto/', import.meta.url));

/** `./platform.js` imported from src/crypto resolves to the browser platform. */
function browserPlatform(): Plugin {
  return {
    name: 'roam-browser-platform',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source === './platform.js' && importer !== undefined && importer.startsWith(CRYPTO_DIR)) {
        return BROWSER_PLATFORM;
      }
      return null;
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [browserPlatform(), react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: {
      '/ledger': 'http://127.0.0.1:8080',
      '/fhir': 'http://127.0.0.1:8080',
      '/auth': 'http://127.0.0.1:8080',
      '/vault': 'http://127.0.0.1:8080',
    },
  },
});
