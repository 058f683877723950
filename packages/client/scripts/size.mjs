// CI size check: what an app ships when it imports this client, bundled and minified for the
// browser the way a frontend build would (esbuild, ES2022) and gzipped at level 9. The budget
// covers the client, zod/mini and the whole notification catalogue. The same run measures the
// client without zod, and socket.io-client and centrifuge the same way, so the comparison stays
// honest. Measures the built dist (`pnpm build` first).
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/**
 * Budget in bytes of min+gzip for an app importing the client, zod/mini and catalogue included:
 * the design's 12 KB. The client must also stay smaller than socket.io-client measured the same
 * way. `scripts/size-shares.mjs` says which part holds how many of the bytes.
 */
export const BUDGET_BYTES = 12_288;

/** Most bytes of min+gzip `@huleedu/ws-client/react` may add to that app (React itself external). */
export const REACT_BUDGET_BYTES = 1536;

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const client = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const react = fileURLToPath(new URL('../dist/react/index.js', import.meta.url));

/**
 * esbuild's options for bundling `contents` (an ES module, resolved from this package) for the
 * browser the way a frontend build would. `external` lists packages left out.
 */
export function bundleOptions(contents, external = []) {
  return {
    stdin: { contents, resolveDir: packageRoot, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    external,
  };
}

/**
 * Bundles `contents` (see {@link bundleOptions}) and returns its minified and gzipped sizes and
 * esbuild's metafile.
 */
export async function bundle(contents, external = []) {
  const result = await build(bundleOptions(contents, external));
  const code = result.outputFiles[0].contents;
  return {
    minified: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    metafile: result.metafile,
  };
}

/** A module that re-exports everything `specifier` offers, so tree-shaking hides nothing. */
export const everything = (specifier) => `export * from ${JSON.stringify(specifier)};`;

/** What the React entry adds, min+gzip, to an app that imports the client; React is external. */
export async function reactEntryBytes() {
  const external = ['react', 'react-dom'];
  const core = await bundle(everything(client), external);
  const both = await bundle(everything(client) + everything(react), external);
  return { minified: both.minified - core.minified, gzip: both.gzip - core.gzip };
}

/** Every figure of the size report, in the order printed. */
export const measurements = [
  { name: '@huleedu/ws-client (with zod/mini and the catalogue)', contents: everything(client) },
  {
    name: '@huleedu/ws-client without zod',
    contents: everything(client),
    external: ['zod', 'zod/*'],
  },
  { name: 'socket.io-client 4.8', contents: everything('socket.io-client') },
  { name: 'centrifuge', contents: everything('centrifuge') },
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const kb = (n) => `${(n / 1024).toFixed(2)} KB`;
  const rows = [];
  for (const { name, contents, external } of measurements) {
    const { minified, gzip } = await bundle(contents, external);
    rows.push({ name, minified, gzip });
    console.log(`${name.padEnd(56)} ${kb(minified).padStart(9)} min  ${kb(gzip).padStart(8)} gzip`);
  }
  const added = await reactEntryBytes();
  console.log(
    `${'@huleedu/ws-client/react adds (React external)'.padEnd(56)} ${`${added.minified} B`.padStart(9)} min  ${`${added.gzip} B`.padStart(8)} gzip`,
  );
  const app = rows[0];
  console.log(`budget for the first line: ${kb(BUDGET_BYTES)} gzip (${app.gzip} B)`);
  console.log(`budget for the React entry: ${REACT_BUDGET_BYTES} B gzip`);
  if (added.gzip > REACT_BUDGET_BYTES) {
    console.error(
      `size check failed: the React entry adds ${added.gzip - REACT_BUDGET_BYTES} bytes over its budget`,
    );
    process.exit(1);
  }
  if (app.gzip > BUDGET_BYTES) {
    console.error(`size check failed: ${app.gzip - BUDGET_BYTES} bytes over the budget`);
    process.exit(1);
  }
  const socketio = rows[2];
  if (app.gzip >= socketio.gzip) {
    console.error('size check failed: the client is not smaller than socket.io-client');
    process.exit(1);
  }
}
