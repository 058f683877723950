import {
  describeIssues,
  disconnectDataSchema,
  type Envelope,
  findIssues,
  userCommands,
} from '@huleedu/ws-protocol';
import type { ClientSocket } from './client-socket.js';
import type { ServiceMetrics } from './metrics.js';
import type { RateLimitedLog } from './rate-limited-log.js';

/**
 * Whether a message on a user's channel is a command for the service itself (`ws.disconnect`,
 * from `disconnectUser` in `@huleedu/notify`) rather than a notification. Such a message is acted
 * on by the instance and never forwarded to a browser.
 */
export function isUserCommand(envelope: Envelope): boolean {
  return envelope.event === userCommands.DISCONNECT;
}

/** What {@link createUserCommandHandler} needs. */
export interface UserCommandOptions {
  /** The user's open sockets on this instance. */
  readonly socketsOf: (userId: string) => readonly ClientSocket[] | undefined;
  /** Closes one socket with 1008 `token_revoked` (and counts it). */
  readonly closeRevoked: (socket: ClientSocket) => void;
  readonly metrics: ServiceMetrics;
  /** Commands arrive at whatever rate backends send them: logged at a bounded rate. */
  readonly dropLog: RateLimitedLog;
}

/** Acts on one user command (see {@link isUserCommand}) for `userId`. */
export type UserCommandHandler = (userId: string, envelope: Envelope) => void;

/**
 * `ws.disconnect`: closes every socket of the user on this instance at once with 1008
 * `token_revoked`. Refusing older tokens at the handshake is the revocation key's job (read by
 * the handshake itself), so the command needs nothing else. A command whose `data` does not
 * match the contract still closes the sockets (its name says what was meant; failing open would
 * leave a cut-off user connected) and is logged as malformed.
 */
export function createUserCommandHandler(options: UserCommandOptions): UserCommandHandler {
  const { socketsOf, closeRevoked, metrics, dropLog } = options;
  return (userId, envelope) => {
    // A copy: closing does not remove sockets at once, but nothing here should depend on that.
    const sockets = [...(socketsOf(userId) ?? [])];
    for (const socket of sockets) closeRevoked(socket);
    const issues = findIssues(disconnectDataSchema, envelope.data);
    if (issues.length > 0) {
      metrics.malformedPayloads++;
      dropLog.warn(
        'malformed_command',
        { userId, event: envelope.event, reason: describeIssues(issues).join('; ') },
        "a disconnect command with malformed data: closed the user's sockets anyway",
      );
      return;
    }
    const data = envelope.data as { reason: string; issued_before?: number };
    dropLog.info(
      'user_disconnected',
      {
        userId,
        reason: data.reason,
        sockets: sockets.length,
        ...(data.issued_before === undefined ? {} : { issuedBefore: data.issued_before }),
      },
      "closed a user's sockets on request (ws.disconnect)",
    );
  };
}
