// CI size check: the client with its schema validation, bundled and minified for the browser the
// way a frontend app would ship it, must stay within the gzip budget. Measures the built dist.
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** Budget in bytes of gzip (level 9). socket.io-client is about 13 KB. */
export const BUDGET_BYTES = 8 * 1024;

const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Bundles the client the way an app would and returns its minified and gzipped sizes. */
export async function measure() {
  const result = await build({
    stdin: {
      // Import everything the public API offers, so tree-shaking cannot hide anything.
      contents: `export * from ${JSON.stringify(entry)};`,
      resolveDir: process.cwd(),
      loader: 'js',
    },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  return {
    minified: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    metafile: result.metafile,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { minified, gzip } = await measure();
  const kb = (n) => `${(n / 1024).toFixed(2)} KB`;
  console.log(
    `@huleedu/ws-client browser bundle: ${kb(minified)} minified, ${kb(gzip)} gzip (budget ${kb(BUDGET_BYTES)})`,
  );
  if (gzip > BUDGET_BYTES) {
    console.error(`size check failed: ${gzip - BUDGET_BYTES} bytes over the budget`);
    process.exit(1);
  }
}
