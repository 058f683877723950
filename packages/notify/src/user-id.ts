import { hashTagProblem, userIdProblem } from '@huleedu/ws-protocol';
import { NotificationValidationError, NotifierError } from './errors.js';

// The rules themselves live in @huleedu/ws-protocol, so the service can refuse at start a
// channel prefix or subject pattern that no publisher could publish to.
export { MAX_USER_ID_LENGTH, userIdProblem } from '@huleedu/ws-protocol';

/** Throws `NotificationValidationError('invalid_user_id')` unless `userId` is valid. */
export function assertUserId(userId: unknown): asserts userId is string {
  const problem = userIdProblem(userId);
  if (problem !== undefined) {
    throw new NotificationValidationError('invalid_user_id', `userId ${problem}`);
  }
}

/** Throws `NotifierError('invalid_options')` unless `prefix` is usable as a channel prefix. */
export function assertChannelPrefix(prefix: unknown): asserts prefix is string {
  const problem = userIdProblem(prefix);
  if (problem !== undefined) {
    throw new NotifierError('invalid_options', `channelPrefix ${problem}`);
  }
}

/**
 * With history on, throws unless `value` (a user id or the channel prefix) is free of `}`
 * (`hashTagProblem` of @huleedu/ws-protocol: the user's keys would land in another Redis Cluster
 * slot than the channel). A user id gets `invalid_user_id`, the prefix `invalid_options`.
 */
export function assertHashTagSafe(value: string, what: 'userId' | 'channelPrefix'): void {
  const problem = hashTagProblem(value);
  if (problem === undefined) return;
  const message = `${what} ${problem}`;
  if (what === 'userId') throw new NotificationValidationError('invalid_user_id', message);
  throw new NotifierError('invalid_options', message);
}
