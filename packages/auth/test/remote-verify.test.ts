import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AuthError,
  createRemoteTokenVerifier,
  KeysUnavailableError,
  type RemoteVerifierOptions,
  signToken,
  verifyRefresh,
} from '../src/index.js';
import { keyPair } from './support.js';

const first = keyPair('P-256', 'key-2026-11');
const second = keyPair('P-256', 'key-2026-12');

/** A JWKS endpoint on loopback whose key list a test changes, counting the reads. */
interface JwksEndpoint {
  url: string;
  keys: unknown[];
  reads: number;
  status: number;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
});

async function jwksEndpoint(keys: unknown[]): Promise<JwksEndpoint> {
  const endpoint: JwksEndpoint = { url: '', keys, reads: 0, status: 200 };
  const server = createServer((_request, response) => {
    endpoint.reads += 1;
    response.writeHead(endpoint.status, { 'content-type': 'application/json' });
    response.end(endpoint.status === 200 ? JSON.stringify({ keys: endpoint.keys }) : '{}');
  });
  servers.push(server);
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return endpoint;
}

const sign = (pair: typeof first, kid = pair.jwk.kid as string, user = 'teacher-1') =>
  signToken(user, { algorithm: 'ES256', privateKey: pair.privatePem, header: { kid } });

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('token was accepted');
}

function verifier(endpoint: JwksEndpoint, options: Partial<RemoteVerifierOptions> = {}) {
  return createRemoteTokenVerifier({ algorithm: 'ES256', jwksUrl: endpoint.url, ...options });
}

describe('keys from a JWKS URL', () => {
  it('fetches the JWKS once and verifies every token of a known kid from memory', async () => {
    const endpoint = await jwksEndpoint([first.jwk]);
    const remote = verifier(endpoint);
    expect(endpoint.reads).toBe(0);
    for (let i = 0; i < 5; i++) {
      const verified = await remote.verify(sign(first));
      expect(verified).toMatchObject({ userId: 'teacher-1', keyId: 'key-2026-11' });
    }
    expect(endpoint.reads).toBe(1);
  });

  it('accepts a key rotated into the JWKS without a restart', async () => {
    const endpoint = await jwksEndpoint([first.jwk]);
    const remote = verifier(endpoint);
    await remote.verify(sign(first));
    const early = await refusal(remote.verify(sign(second)));
    expect((early as AuthError).code).toBe('token_key_unknown');
    // The identity service publishes its next key; tokens signed with it pass at once.
    endpoint.keys = [first.jwk, second.jwk];
    expect((await remote.verify(sign(second))).keyId).toBe('key-2026-12');
    expect((await remote.verify(sign(first))).keyId).toBe('key-2026-11');
  });

  it('stops accepting a key removed from the JWKS once the cache age has passed', async () => {
    const endpoint = await jwksEndpoint([first.jwk, second.jwk]);
    const remote = verifier(endpoint, { cacheMaxAgeMs: 50 });
    await remote.verify(sign(first));
    endpoint.keys = [second.jwk];
    const deadline = Date.now() + 5_000;
    let refused: Error | undefined;
    while (refused === undefined && Date.now() < deadline) {
      refused = await remote.verify(sign(first)).then(
        () => undefined,
        (error: Error) => error,
      );
      if (refused === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect((refused as AuthError).code).toBe('token_key_unknown');
  });

  it('refuses an unknown kid with a clear reason, and reads the JWKS a bounded number of times', async () => {
    const endpoint = await jwksEndpoint([first.jwk]);
    const remote = verifier(endpoint, { requestsPerMinute: 3 });
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const error = await refusal(remote.verify(sign(first, `random-${i}`)));
      outcomes.push((error as Error & { code: string }).code);
    }
    expect(outcomes.slice(0, 3)).toEqual(Array(3).fill('token_key_unknown'));
    // Past the per-minute budget the keys are "unavailable" (1013), not the token bad (1008).
    expect(new Set(outcomes.slice(3))).toEqual(new Set(['keys_unavailable']));
    expect(endpoint.reads).toBe(3);
    const unknown = await refusal(verifier(endpoint).verify(sign(first, 'nope')));
    expect(unknown).toBeInstanceOf(AuthError);
    expect(unknown.message).toContain('no key with kid "nope" in the JWKS at http://127.0.0.1:');
  });

  it('keeps the algorithm pinned and refuses keys that do not fit it', async () => {
    const endpoint = await jwksEndpoint([first.jwk, { ...keyPair('rsa', 'rsa').jwk }]);
    const remote = verifier(endpoint);
    const forged = signToken('teacher-1', {
      secret: first.publicPem,
      header: { kid: 'key-2026-11' },
    });
    expect(((await refusal(remote.verify(forged))) as AuthError).code).toBe('token_algorithm');
    const rsaKid = sign(first, 'rsa');
    const misfit = (await refusal(remote.verify(rsaKid))) as AuthError;
    expect(misfit.code).toBe('token_key_unknown');
    expect(misfit.message).toContain('ES256 needs an EC key on curve P-256');
    const noKid = signToken('teacher-1', { algorithm: 'ES256', privateKey: first.privatePem });
    expect(((await refusal(remote.verify(noKid))) as AuthError).code).toBe('token_key_unknown');
    expect(endpoint.reads).toBe(1);
  });

  it('says the keys are unavailable, not the token bad, when the endpoint fails', async () => {
    const endpoint = await jwksEndpoint([first.jwk]);
    endpoint.status = 503;
    const error = await refusal(verifier(endpoint).verify(sign(first)));
    expect(error).toBeInstanceOf(KeysUnavailableError);
    expect((error as KeysUnavailableError).code).toBe('keys_unavailable');
    endpoint.status = 200;
    expect((await verifier(endpoint).verify(sign(first))).userId).toBe('teacher-1');
  });

  it('verifies an in-band refresh against the same keys and user', async () => {
    const endpoint = await jwksEndpoint([first.jwk]);
    const remote = verifier(endpoint);
    expect((await verifyRefresh(remote, sign(first), 'teacher-1')).userId).toBe('teacher-1');
    const other = await refusal(
      verifyRefresh(remote, sign(first, undefined, 'teacher-2'), 'teacher-1'),
    );
    expect((other as AuthError).code).toBe('token_subject_mismatch');
  });

  it('refuses bad options at creation', () => {
    const base = { algorithm: 'ES256' };
    expect(() => createRemoteTokenVerifier({ ...base, jwksUrl: 'http://id.example/jwks' })).toThrow(
      'jwksUrl must be an https:// URL',
    );
    expect(() =>
      createRemoteTokenVerifier({ jwksUrl: 'https://id.example/jwks', algorithm: 'HS256' }),
    ).toThrow('HS256 uses a shared secret');
    expect(() =>
      createRemoteTokenVerifier({ ...base, jwksUrl: 'https://id.example/jwks', timeoutMs: 0 }),
    ).toThrow('timeoutMs must be a whole number >= 1, got 0');
  });
});
