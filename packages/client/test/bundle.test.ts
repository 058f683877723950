import { describe, expect, it } from 'vitest';
import { BUDGET_BYTES, bundle, REACT_BUDGET_BYTES, reactEntryBytes } from '../scripts/size.mjs';

const client = JSON.stringify(new URL('../dist/index.js', import.meta.url).pathname);

/** The distinct zod package folders whose files ended up in a bundle. */
function zodCopies(inputs: Record<string, unknown>): string[] {
  const roots = Object.keys(inputs)
    .map((path) => /^(.*node_modules\/zod)\//.exec(path)?.[1])
    .filter((root): root is string => root !== undefined);
  return [...new Set(roots)];
}

/** How many times zod's core (its parser and every schema class) is in a bundle. */
function coreCopies(inputs: Record<string, unknown>): number {
  return Object.keys(inputs).filter((path) => /zod\/v4\/core\/core\.js$/.test(path)).length;
}

describe('the browser bundle of an app', () => {
  it('stays within the budget with zod/mini and the whole catalogue', async () => {
    const { gzip, metafile } = await bundle(`export * from ${client};`);
    expect(gzip).toBeLessThanOrEqual(BUDGET_BYTES);
    expect(coreCopies(metafile.inputs)).toBe(1);
  });

  it('is smaller than socket.io-client bundled the same way', async () => {
    const ours = await bundle(`export * from ${client};`);
    const socketio = await bundle("export * from 'socket.io-client';");
    expect(ours.gzip).toBeLessThan(socketio.gzip);
  });

  it('adds at most the React budget with the React entry, React itself left out', async () => {
    const { gzip } = await reactEntryBytes();
    expect(gzip).toBeLessThanOrEqual(REACT_BUDGET_BYTES);
  });

  it.each([
    ['zod (classic API)', "import * as z from 'zod';"],
    ['zod/mini', "import * as z from 'zod/mini';"],
  ])('that already uses %s itself holds one copy of zod', async (_, importZod) => {
    const app = `${importZod}
      import { createNotificationClient } from ${client};
      export const settings = z.object({ theme: z.enum(['light', 'dark']) });
      export const start = (url) => createNotificationClient({ url, getToken: () => 't' });`;
    const { metafile } = await bundle(app);
    expect(zodCopies(metafile.inputs)).toHaveLength(1);
    expect(coreCopies(metafile.inputs)).toBe(1);
  });
});
