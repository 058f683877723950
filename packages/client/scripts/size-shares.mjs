// Where the bytes of the size check's first line are: bundles the client as `size.mjs` does, then
// for each part (zod, the catalogue, the rest of the protocol, socket.ts, shared.ts, the rest of
// the client) prints its share: the gzip size of the bundle minus that of the same minified
// code with that part's characters taken out (esbuild's source map says whose each character
// is). Shares overlap in what gzip reuses, so they do not add up to the whole. Measures the built
// dist (`pnpm build` first); the README's Size section quotes its output.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { bundleOptions, everything } from './size.mjs';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const client = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** The parts reported, each a test on the absolute path of a source. */
const parts = [
  ['zod/mini (its core and the schema kinds used)', (path) => /node_modules\/.*zod\//.test(path)],
  [
    'the catalogue (`notifications`, `fields`)',
    (path) => /protocol\/src\/(notifications|fields)\./.test(path),
  ],
  [
    "the protocol's other browser parts",
    (path) => /protocol\/src\/(?!notifications|fields)/.test(path),
  ],
  ['`socket.ts`', (path) => /client\/src\/socket\./.test(path)],
  ['`shared.ts`', (path) => /client\/src\/shared\./.test(path)],
  ['the rest of the client', (path) => /client\/src\/(?!socket|shared)/.test(path)],
];

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Decodes a source map's `mappings` into, per generated line, `[column, source]` pairs (absolute
 * values; only the first two fields of each segment are needed here).
 */
function decodeMappings(mappings) {
  let source = 0;
  return mappings.split(';').map((line) => {
    let column = 0;
    const segments = [];
    for (const segment of line.split(',').filter(Boolean)) {
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const char of segment) {
        const digit = BASE64.indexOf(char);
        value += (digit & 31) << shift;
        shift += 5;
        if (digit & 32) continue;
        fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
        value = shift = 0;
      }
      column += fields[0];
      if (fields.length > 1) {
        source += fields[1];
        segments.push([column, source]);
      } else {
        segments.push([column, -1]);
      }
    }
    return segments;
  });
}

const result = await build({
  ...bundleOptions(everything(client)),
  sourcemap: 'external',
  outfile: resolve(packageRoot, 'bundle.js'),
});
const code = result.outputFiles.find((file) => file.path.endsWith('.js')).text;
const map = JSON.parse(result.outputFiles.find((file) => file.path.endsWith('.map')).text);
const lines = code.split('\n');
const owners = decodeMappings(map.mappings).map((segments, index) => {
  const owner = new Int32Array(lines[index]?.length ?? 0).fill(-1);
  segments.forEach(([column, source], i) => {
    owner.fill(source, column, segments[i + 1]?.[0] ?? owner.length);
  });
  return owner;
});
const gzip = (text) => gzipSync(text, { level: 9 }).length;
const whole = gzip(code);
console.log(`${'the whole bundle'.padEnd(50)} ${String(whole).padStart(6)} B`);
for (const [name, test] of parts) {
  const sources = new Set(
    map.sources.flatMap((path, index) => (test(resolve(packageRoot, path)) ? [index] : [])),
  );
  const rest = lines
    .map((line, index) => [...line].filter((_, column) => !sources.has(owners[index][column])))
    .map((chars) => chars.join(''))
    .join('\n');
  console.log(`${name.padEnd(50)} ${String(whole - gzip(rest)).padStart(6)} B`);
}
