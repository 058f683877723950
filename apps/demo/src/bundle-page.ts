// Build step after tsc: bundles the page (src/page/app.ts with @huleedu/ws-client) for the
// browser with esbuild and copies the static files, into dist/public.
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pageDir = fileURLToPath(new URL('../src/page/', import.meta.url));
const publicDir = fileURLToPath(new URL('./public/', import.meta.url));

await mkdir(publicDir, { recursive: true });
await build({
  entryPoints: [`${pageDir}app.ts`],
  outfile: `${publicDir}app.js`,
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  logLevel: 'warning',
});
await copyFile(`${pageDir}index.html`, `${publicDir}index.html`);
await copyFile(`${pageDir}style.css`, `${publicDir}style.css`);
