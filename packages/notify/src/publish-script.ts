import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type PublishScriptReply, readPublishScriptReply } from '@huleedu/ws-protocol';
import type { Cluster, Redis } from 'ioredis';
import { NotifierError } from './errors.js';

/** The durable publish script as shipped in this package (`lua/publish.lua`). */
export interface PublishScript {
  /** Where it was read from. */
  readonly path: string;
  readonly source: string;
  /** SHA1 of the source: what EVALSHA and SCRIPT LOAD use. */
  readonly sha: string;
}

/** What the script answers: see the header of `lua/publish.lua`. */
export type { PublishScriptReply } from '@huleedu/ws-protocol';

/** The KEYS and ARGV of one run; their meaning is documented in `lua/publish.lua`. */
export interface PublishScriptCall {
  keys: readonly string[];
  args: readonly (string | number)[];
}

// Beside src/ and dist/ alike, so the same URL works from the sources (tests) and the build.
const scriptUrl = new URL('../lua/publish.lua', import.meta.url);
let loaded: PublishScript | undefined;

/**
 * Absolute path of the durable publish script shipped in this package (`lua/publish.lua`), for
 * publishers in other languages and tools that run it themselves. The same file is exported as
 * `@huleedu/notify/lua/publish.lua`.
 */
export function publishScriptPath(): string {
  return fileURLToPath(scriptUrl);
}

/**
 * Reads `lua/publish.lua` once per process. Throws a plain `Error` naming the path when the file
 * is missing: the package was installed without its `lua` folder, which no option can fix.
 */
export function publishScript(): PublishScript {
  if (loaded) return loaded;
  const path = publishScriptPath();
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(
      `@huleedu/notify: cannot read its publish script ${path} (${(error as Error).message}); the package is incomplete, reinstall it`,
    );
  }
  loaded = { path, source, sha: createHash('sha1').update(source).digest('hex') };
  return loaded;
}

/**
 * Runs the publish script with EVALSHA; on NOSCRIPT (a node that restarted, or has not seen the
 * script yet; in a cluster every node has its own cache) sends it once with EVAL, which caches it
 * there for the next EVALSHA. In a cluster the keys route the call to the slot of the user's
 * channel. Rejects with whatever ioredis rejects with; an unexpected reply is a `redis_error`.
 */
export async function runPublishScript(
  client: Redis | Cluster,
  call: PublishScriptCall,
): Promise<PublishScriptReply> {
  const script = publishScript();
  const keysAndArgs = [...call.keys, ...call.args];
  let reply: unknown;
  try {
    reply = await client.evalsha(script.sha, call.keys.length, ...keysAndArgs);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    reply = await client.eval(script.source, call.keys.length, ...keysAndArgs);
  }
  return parseReply(reply);
}

function parseReply(reply: unknown): PublishScriptReply {
  const parsed = readPublishScriptReply(reply);
  if (parsed !== undefined) return parsed;
  throw new NotifierError(
    'redis_error',
    `unexpected reply from lua/publish.lua: ${JSON.stringify(reply)?.slice(0, 200)} (expected [position, epoch, receivers, duplicate])`,
  );
}
