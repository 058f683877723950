import { WebSocket } from 'ws';
import type { InboundBucket } from './inbound-budget.js';

/**
 * One browser connection. ws builds these for us (the server's `WebSocket` option), so the little
 * state the service needs per socket lives on the socket itself: no side map, no closure per
 * socket, no copy of the request or the token.
 */
export class ClientSocket extends WebSocket implements InboundBucket {
  /** The authenticated user (the token's `sub`); empty until the socket is admitted. */
  userId = '';
  /** Epoch ms after which the token is no longer accepted (`exp` plus clock tolerance). */
  expiresAt = 0;
  /**
   * The token's `iat`, epoch seconds (`undefined`: it had none), so a revocation of tokens issued
   * before a time can find this socket (see `revocation-sweep.ts`).
   */
  issuedAt: number | undefined = undefined;
  /** Whether the peer showed a sign of life since the last keepalive sweep. */
  alive = true;
  /** Inbound frames this socket may still send now (its token bucket, see `inbound-budget.ts`). */
  inboundTokens = 0;
  /** When {@link inboundTokens} was last counted (`performance.now()`). */
  inboundCountedAt = 0;
}
