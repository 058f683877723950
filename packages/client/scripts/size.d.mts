/** Types of size.mjs, for the tests that import it. */
import type { Metafile } from 'esbuild';

/** Budget in bytes of min+gzip for an app importing the client, zod/mini and catalogue included. */
export declare const BUDGET_BYTES: number;

/** Most bytes of min+gzip the React entry may add to an app importing the client. */
export declare const REACT_BUDGET_BYTES: number;

/** What the React entry adds, min+gzip, to an app that imports the client; React is external. */
export declare function reactEntryBytes(): Promise<{ minified: number; gzip: number }>;

/** Bundles an ES module for the browser; sizes in bytes and esbuild's metafile. */
export declare function bundle(
  contents: string,
  external?: string[],
): Promise<{ minified: number; gzip: number; metafile: Metafile }>;

/** Every figure of the size report. */
export declare const measurements: { name: string; contents: string; external?: string[] }[];
