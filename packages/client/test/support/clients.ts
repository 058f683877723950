import { WebSocket } from 'ws';
import {
  createNotificationClient,
  type NotificationClient,
  type NotificationClientOptions,
  type TokenContext,
} from '../../src/index.js';
import { type Recording, record } from './recorder.js';

/** A client under test, with what it asked `getToken` and what it reported. */
export interface TestClient {
  client: NotificationClient;
  tokenRequests: TokenContext[];
  recording: Recording;
}

const live: NotificationClient[] = [];

/**
 * A client for `url` using the `ws` package, with short delays so tests run fast; `getToken`
 * hands out `token-1`, `token-2`, ... unless given (every call is recorded either way). Close them all with {@link closeTestClients}.
 */
export function testClient(
  url: string,
  options: Partial<NotificationClientOptions> = {},
): TestClient {
  const tokenRequests: TokenContext[] = [];
  const { getToken = () => `token-${tokenRequests.length}`, ...rest } = options;
  const client = createNotificationClient({
    url,
    WebSocket,
    getToken: (context) => {
      tokenRequests.push(context);
      return getToken(context);
    },
    initialDelayMs: 20,
    maxDelayMs: 200,
    stableAfterMs: 60_000,
    goingAwaySpreadMs: 50,
    authRetryDelayMs: 300,
    authMaxDelayMs: 1_000,
    heartbeatIntervalMs: 60_000,
    connectTimeoutMs: 5_000,
    // Its tokens (`token-1`) are not JWTs, so they travel as `?token=`; the header transport and
    // refresh have tests of their own with JWT-shaped tokens.
    tokenTransport: 'query',
    ...rest,
  });
  live.push(client);
  return { client, tokenRequests, recording: record(client) };
}

/** Closes every client made by {@link testClient}. */
export function closeTestClients(): void {
  for (const client of live.splice(0)) client.close();
}

/**
 * A JWT-shaped token with `claims` (`sub`, `exp` in epoch seconds, ...) and a dummy signature:
 * the client reads claims without verifying, and only the scripted server sees it.
 */
export function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}
