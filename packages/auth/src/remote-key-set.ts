import { createPublicKey, type KeyObject } from 'node:crypto';
import jwksRsa from 'jwks-rsa';
import { AuthError, KeysUnavailableError } from './errors.js';
import { unknownKid } from './key-set.js';
import { type Algorithm, isHmac, keyProblem } from './keys.js';

/** How a {@link RemoteKeySet} reads and keeps a JWKS URL. */
export interface RemoteKeySetOptions {
  /** The JWKS URL: `https://`, or `http://` to a loopback address (a sidecar, tests). */
  jwksUrl: string;
  /**
   * How long a key read from the URL is used before it is read again, ms (default 600,000: ten
   * minutes). A key removed from the JWKS stops verifying at most this long after.
   */
  cacheMaxAgeMs?: number;
  /**
   * Reads of the URL per minute at most (default 10): a token with a `kid` never seen makes the
   * verifier read the JWKS again (a rotated-in key is accepted without a restart), and random
   * `kid`s must not turn that into a flood. Past the limit such tokens are refused with
   * {@link KeysUnavailableError} until the minute is over.
   */
  requestsPerMinute?: number;
  /** How long one read of the URL may take, ms (default 5,000). */
  timeoutMs?: number;
}

/** Defaults of {@link RemoteKeySetOptions}. */
export const remoteKeySetDefaults = {
  cacheMaxAgeMs: 600_000,
  requestsPerMinute: 10,
  timeoutMs: 5_000,
} as const;

/**
 * Why `url` cannot be a JWKS URL, or `undefined`: it must parse, and be `https:` (or `http:` to
 * `localhost`, `127.0.0.1` or `[::1]`), with no user name or password in it.
 */
export function jwksUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.username !== '' || parsed.password !== '') return 'must not contain credentials';
  if (parsed.protocol === 'https:') return undefined;
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol === 'http:' && loopback) return undefined;
  return 'must be an https:// URL (http:// only to localhost)';
}

/**
 * The verification keys of a JWKS URL, read through `jwks-rsa` (which fetches, caches by `kid`
 * and limits the read rate) and kept as `KeyObject`s, so a known key costs a map lookup.
 */
export class RemoteKeySet {
  readonly #client: jwksRsa.JwksClient;
  readonly #algorithm: Algorithm;
  readonly #url: string;
  readonly #maxAgeMs: number;
  readonly #keys = new Map<string, { key: KeyObject; until: number }>();

  /** Throws a plain Error naming a bad option; reads nothing yet. */
  constructor(options: RemoteKeySetOptions, algorithm: Algorithm) {
    const problem = jwksUrlProblem(options.jwksUrl);
    if (problem !== undefined) throw new Error(`jwksUrl ${problem}`);
    if (isHmac(algorithm)) {
      throw new Error(`a JWKS URL publishes public keys; ${algorithm} uses a shared secret`);
    }
    const maxAge = options.cacheMaxAgeMs ?? remoteKeySetDefaults.cacheMaxAgeMs;
    const perMinute = options.requestsPerMinute ?? remoteKeySetDefaults.requestsPerMinute;
    const timeout = options.timeoutMs ?? remoteKeySetDefaults.timeoutMs;
    for (const [name, value] of Object.entries({
      cacheMaxAgeMs: maxAge,
      requestsPerMinute: perMinute,
      timeoutMs: timeout,
    })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`${name} must be a whole number >= 1, got ${value}`);
      }
    }
    this.#algorithm = algorithm;
    this.#url = new URL(options.jwksUrl).href;
    this.#maxAgeMs = maxAge;
    this.#client = new jwksRsa.JwksClient({
      jwksUri: this.#url,
      cache: true,
      cacheMaxAge: maxAge,
      cacheMaxEntries: 100,
      rateLimit: true,
      jwksRequestsPerMinute: perMinute,
      timeout,
    });
  }

  /**
   * The key `kid` names: from memory while it is fresh, else read from the URL. Rejects with an
   * {@link AuthError} `token_key_unknown` (no such key, or it does not fit the algorithm) or a
   * {@link KeysUnavailableError} (the URL could not be read, or too many reads this minute).
   */
  async key(kid: string | undefined): Promise<KeyObject> {
    if (kid === undefined) {
      throw new AuthError(
        'token_key_unknown',
        'the token has no kid header, which chooses the key',
      );
    }
    const now = Date.now();
    const known = this.#keys.get(kid);
    if (known !== undefined && known.until > now) return known.key;
    this.#keys.delete(kid);
    let signing: jwksRsa.SigningKey;
    try {
      signing = await this.#client.getSigningKey(kid);
    } catch (error) {
      if ((error as Error).name === 'SigningKeyNotFoundError') {
        throw unknownKid(kid, `the JWKS at ${this.#url}`);
      }
      throw new KeysUnavailableError(
        `the JWKS at ${this.#url} could not be read: ${(error as Error).message}`,
      );
    }
    if (signing.alg !== undefined && signing.alg !== this.#algorithm) {
      throw new AuthError(
        'token_key_unknown',
        `the key ${JSON.stringify(kid)} is for ${signing.alg}; only ${this.#algorithm} is accepted`,
      );
    }
    const key = createPublicKey(signing.getPublicKey());
    const problem = keyProblem(key, this.#algorithm);
    if (problem !== undefined) {
      throw new AuthError('token_key_unknown', `the key ${JSON.stringify(kid)} ${problem}`);
    }
    this.#keys.set(kid, { key, until: now + this.#maxAgeMs });
    return key;
  }
}
