import { count, type Envelope, resumeParams, syncedDataSchema } from '@huleedu/ws-protocol';
import * as z from 'zod/mini';

/**
 * Where a client is in its user's history: the position of the last positioned message it
 * handed over, in `epoch`. `epoch` is null when the service said the user had no history yet
 * (`ws.synced` with `epoch: null`); then `position` is 0.
 */
export interface HistoryPosition {
  readonly position: number;
  readonly epoch: string | null;
}

/** The position and epoch a positioned message carries (see the protocol's `positionFields`). */
export interface MessagePosition {
  readonly position: number;
  readonly epoch: string;
}

// The protocol's own field schemas: a position is a whole number >= 0, an epoch matches
// EPOCH_PATTERN (null: no history yet).
const { position: positionSchema, epoch: epochSchema } = syncedDataSchema.shape;

/** A saved {@link HistoryPosition} an app hands back (`resumeFrom`). */
export const historyPositionSchema = z.looseObject(
  { position: positionSchema, epoch: epochSchema },
  'an object',
);

/**
 * The position of `envelope`, or undefined for a message without one: a legacy raw `PUBLISH`,
 * or fields that are not a valid position (>= 1) and epoch. Such messages are delivered live and
 * never count as duplicates.
 */
export function positionOf(envelope: Envelope): MessagePosition | undefined {
  if (!historyPositionSchema.safeParse(envelope).success) return undefined;
  const { position, epoch } = envelope as unknown as HistoryPosition;
  return epoch !== null && position > 0 ? { position, epoch } : undefined;
}

/** A client's place in its user's history, and how it says so when it connects. */
export interface HistoryCursor {
  /** Where the client is; undefined until a positioned message or a control message arrived. */
  readonly current: HistoryPosition | undefined;
  /** True when `at` was handed over already: same epoch, position at or below the current one. */
  seen(at: MessagePosition): boolean;
  /** Moves to `at`: a message just handed over, or what `ws.synced` / `ws.resync` said. */
  moveTo(at: HistoryPosition): void;
  /** Forgets where the client is: the next connect is a first one (with `recent`). */
  forget(): void;
  /**
   * Sets the resume query parameters of the next connect on `params` (replacing old ones):
   * `position` and `epoch` when the client knows where it was, else `recent` when asked for.
   * Returns true when the service will replay something before its `ws.synced`.
   */
  writeQuery(params: URLSearchParams): boolean;
}

/**
 * Creates the cursor: it starts at `start` (an app's saved position) or nowhere; `recent` is how
 * many past notifications to ask for while it is nowhere (0: none).
 */
export function createHistoryCursor(
  start: HistoryPosition | undefined,
  recent: number,
): HistoryCursor {
  let current = start;
  return {
    get current() {
      return current;
    },
    seen: (at) => current?.epoch === at.epoch && at.position <= current.position,
    moveTo(at) {
      current = { position: at.position, epoch: at.epoch };
    },
    forget() {
      current = undefined;
    },
    writeQuery(params) {
      for (const name of Object.values(resumeParams)) params.delete(name);
      if (current) {
        // epoch null: the history was empty when the client was last told; everything in it now
        // is new to the client, so it resumes from position 0 of whatever epoch the service has.
        params.set(resumeParams.POSITION, String(current.position));
        if (current.epoch !== null) params.set(resumeParams.EPOCH, current.epoch);
        return true;
      }
      if (recent > 0) params.set(resumeParams.RECENT, String(recent));
      return recent > 0;
    },
  };
}

/** The client options this module reads: `recent` and `resumeFrom`. */
export const resumeOptionsSchema = z.looseObject({
  recent: z.optional(count()),
  resumeFrom: z.optional(historyPositionSchema),
});
