import { createHmac, generateKeyPairSync } from 'node:crypto';
import { signToken } from '@huleedu/auth';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  metricValue,
  SECRET,
  type ServiceProcess,
  startServiceProcess,
  terminateClients,
  waitUntilReady,
} from './harness.js';

const ORIGIN = 'https://app.huleedu.com';
let redis: RedisHandle;
let service: ServiceProcess;
let rsService: ServiceProcess;
let publisher: Redis;
const tokens: string[] = [];
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function keep(value: string): string {
  tokens.push(value);
  return value;
}

function token(userId: string, options: Parameters<typeof signToken>[1] = {}): string {
  return keep(signToken(userId, { secret: SECRET, expiresInSeconds: 600, ...options }));
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A hand-made JWT, for tokens no honest signer produces. */
function forged(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  hmacKey?: string,
): string {
  const head = `${b64(header)}.${b64(payload)}`;
  const signature =
    hmacKey === undefined ? '' : createHmac('sha256', hmacKey).update(head).digest('base64url');
  return keep(`${head}.${signature}`);
}

const standardClaims = () => ({
  sub: 'mallory',
  aud: 'huleedu-platform',
  iss: 'huleedu-identity-service',
  exp: Math.floor(Date.now() / 1000) + 600,
});

beforeAll(async () => {
  redis = await startRedis();
  [service, rsService] = await Promise.all([
    startServiceProcess({
      WEBSOCKET_REDIS_URL: redis.url,
      WEBSOCKET_MAX_CONNECTIONS_PER_USER: '2',
      WEBSOCKET_ALLOWED_ORIGINS: `${ORIGIN},http://localhost:5173`,
      JWT_CLOCK_TOLERANCE_SECONDS: '0',
    }),
    startServiceProcess({
      WEBSOCKET_REDIS_URL: redis.url,
      JWT_SECRET_KEY: '',
      JWT_ALGORITHM: 'RS256',
      JWT_PUBLIC_KEY: publicPem,
    }),
  ]);
  publisher = new Redis(redis.url);
  await Promise.all([waitUntilReady(service), waitUntilReady(rsService)]);
});

afterEach(() => terminateClients());

afterAll(async () => {
  publisher?.disconnect();
  await Promise.all([service?.stop(), rsService?.stop()]);
  await redis?.stop();
});

describe('handshake authentication', () => {
  it('closes each kind of bad token with 1008 and its reason, before any notification', async () => {
    const cases: Array<[string, string | undefined, string]> = [
      ['missing', undefined, 'token_missing'],
      ['empty', '', 'token_missing'],
      ['malformed', keep('this-is-not-a-jwt'), 'token_malformed'],
      ['expired', token('u-exp', { expiresInSeconds: -120 }), 'token_expired'],
      [
        'bad signature',
        token('u-sig', { secret: 'some-other-secret-0123456789abcdef' }),
        'token_invalid_signature',
      ],
      ['wrong aud', token('u-aud', { audience: 'another-platform' }), 'token_claims'],
      ['wrong iss', token('u-iss', { issuer: 'evil-issuer' }), 'token_claims'],
      ['missing sub', token('u-sub', { claims: { sub: undefined } }), 'token_claims'],
      ['missing exp', token('u-noexp', { expiresInSeconds: null }), 'token_claims'],
      ['not yet valid', token('u-nbf', { notBeforeSeconds: 300 }), 'token_not_active'],
      ['alg none', forged({ alg: 'none', typ: 'JWT' }, standardClaims()), 'token_algorithm'],
      ['other HS alg', token('u-hs512', { algorithm: 'HS512' }), 'token_algorithm'],
      [
        'RS256 to an HS256 service',
        token('u-rs', { algorithm: 'RS256', secret: undefined, privateKey: privatePem }),
        'token_algorithm',
      ],
    ];
    for (const [name, value, reason] of cases) {
      const client = connectClient(service.wsUrl(value));
      // The upgrade succeeds (so a browser can read the reason), then the service closes.
      await client.opened;
      expect(await client.closed, name).toEqual({ code: 1008, reason });
      expect(client.frames, name).toEqual([]);
    }
    expect(
      await metricValue(service, 'huleedu_ws_connections_rejected_total{reason="token_claims"}'),
    ).toBe(4);
    expect(await metricValue(service, 'huleedu_ws_connections_accepted_total')).toBe(0);
  });

  it('closes tokens the token rules refuse with 1008 and their own reason', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string, string]> = [
      // The probe's "never expires" token: exp in the year 9999.
      [
        'exp 9999',
        token('u-9999', { claims: { exp: 253_402_300_799 } }),
        'token_lifetime_too_long',
      ],
      ['crit header', token('u-crit', { header: { crit: ['exp'] } }), 'token_crit_unsupported'],
      [
        'iat in the future',
        token('u-iat', { claims: { iat: now + 300 } }),
        'token_issued_in_future',
      ],
      ['sub with a space and braces', token('mallory {ws:victim}'), 'token_subject_invalid'],
      ['sub with control characters', token('mallory\r\nvictim'), 'token_subject_invalid'],
      ['5 KB sub', token('x'.repeat(5000)), 'token_subject_invalid'],
    ];
    for (const [name, value, reason] of cases) {
      const client = connectClient(service.wsUrl(value));
      await client.opened;
      expect(await client.closed, name).toEqual({ code: 1008, reason });
      expect(client.frames, name).toEqual([]);
    }
    for (const reason of ['token_lifetime_too_long', 'token_crit_unsupported']) {
      expect(
        await metricValue(service, `huleedu_ws_connections_rejected_total{reason="${reason}"}`),
      ).toBe(1);
    }
    expect(
      await metricValue(
        service,
        'huleedu_ws_connections_rejected_total{reason="token_subject_invalid"}',
      ),
    ).toBe(3);
    // No channel was ever subscribed for the refused subjects.
    const channels = (await publisher.pubsub('CHANNELS', 'ws:*')) as string[];
    expect(channels.filter((c) => c.includes('mallory') || c.includes('xxxx'))).toEqual([]);
  });

  it('refuses algorithm switching: an HS256 token keyed with the RS256 public key', async () => {
    // The classic attack: sign with HMAC using the public key (which is public) as the secret.
    const attack = forged({ alg: 'HS256', typ: 'JWT' }, standardClaims(), publicPem);
    const client = connectClient(rsService.wsUrl(attack));
    expect(await client.closed).toEqual({ code: 1008, reason: 'token_algorithm' });
    const noneAttack = forged({ alg: 'none' }, standardClaims());
    expect(await connectClient(rsService.wsUrl(noneAttack)).closed).toEqual({
      code: 1008,
      reason: 'token_algorithm',
    });
    // The honest RS256 token works.
    const honest = connectClient(
      rsService.wsUrl(
        token('rs-user', { algorithm: 'RS256', secret: undefined, privateKey: privatePem }),
      ),
    );
    await honest.opened;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(honest.socket.readyState).toBe(honest.socket.OPEN);
  });

  it('checks Origin for browsers and judges requests without one by the token alone', async () => {
    const evil = connectClient(service.wsUrl(token('o-user')), {
      headers: { Origin: 'https://evil.example' },
    });
    expect(await evil.closed).toEqual({ code: 1008, reason: 'origin_not_allowed' });
    const app = connectClient(service.wsUrl(token('o-user')), { headers: { Origin: ORIGIN } });
    const dev = connectClient(service.wsUrl(token('o-user2')), {
      headers: { Origin: 'http://localhost:5173' },
    });
    const backend = connectClient(service.wsUrl(token('o-user3')));
    // Admitted, not only upgraded (a refusal closes with 1008 after the upgrade): each gets its
    // `ws.synced`, sent once its user's channel is subscribed.
    for (const allowed of [app, dev, backend]) {
      await waitFor(() => allowed.controls.some((control) => control.event === 'ws.synced'), {
        message: 'ws.synced for an allowed client',
      });
      expect(allowed.socket.readyState).toBe(allowed.socket.OPEN);
    }
    // An allowed origin does not rescue a bad token.
    const badToken = connectClient(service.wsUrl('nope'), { headers: { Origin: ORIGIN } });
    expect(await badToken.closed).toEqual({ code: 1008, reason: 'token_malformed' });
  });

  it('closes a socket with 1008 token_expired when its token expires while connected', async () => {
    const shortLived = connectClient(service.wsUrl(token('short-lived', { expiresInSeconds: 2 })));
    const longLived = connectClient(service.wsUrl(token('short-lived')));
    await Promise.all([shortLived.opened, longLived.opened]);
    const closed = await Promise.race([
      shortLived.closed,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('not closed in 10 s')), 10_000),
      ),
    ]);
    expect(closed).toEqual({ code: 1008, reason: 'token_expired' });
    // The same user's other socket, with a valid token, stays and still receives.
    await publisher.publish('ws:short-lived', '{"event":"still_here","data":{}}');
    await waitFor(() => longLived.frames.length === 1, {
      message: 'long-lived tab still receives',
    });
    expect(
      await metricValue(service, 'huleedu_ws_server_closes_total{reason="token_expired"}'),
    ).toBe(1);
  });

  it('closes the socket beyond the per-user limit with 4000 connection_limit', async () => {
    const first = connectClient(service.wsUrl(token('busy')));
    const second = connectClient(service.wsUrl(token('busy')));
    await Promise.all([first.opened, second.opened]);
    const third = connectClient(service.wsUrl(token('busy')));
    expect(await third.closed).toEqual({ code: 4000, reason: 'connection_limit' });
    // Others are unaffected, and the first two still receive.
    const other = connectClient(service.wsUrl(token('not-busy')));
    await other.opened;
    await waitFor(
      async () =>
        Number(((await publisher.pubsub('NUMSUB', 'ws:busy')) as [string, number])[1]) === 1,
      { message: 'busy subscribed' },
    );
    await publisher.publish('ws:busy', '{"event":"e","data":{}}');
    await waitFor(() => first.frames.length === 1 && second.frames.length === 1, {
      message: 'delivered',
    });
    expect(third.frames).toEqual([]);
    // A slot frees when a tab closes.
    first.socket.close();
    await first.closed;
    const again = connectClient(service.wsUrl(token('busy')));
    await again.opened;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(again.socket.readyState).toBe(again.socket.OPEN);
  });

  it('never writes a token to its logs, even at debug level', () => {
    expect(tokens.length).toBeGreaterThan(15);
    const outputs = service.output() + rsService.output();
    expect(outputs).toContain('refused a handshake'); // refusals were logged
    for (const value of tokens) {
      if (value.length < 8) continue;
      expect(outputs).not.toContain(value);
      // Nor its signature part alone.
      const signature = value.split('.')[2];
      if (signature && signature.length > 10) expect(outputs).not.toContain(signature);
    }
  });
});
