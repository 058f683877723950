import * as z from 'zod/mini';
import { DEFAULT_CHANNEL_PREFIX, userChannel } from './channel.js';
import { count, matching, oneOf } from './fields.js';

/**
 * The delivery guarantee's shared contract: where a user's history lives in Redis, which fields
 * a positioned message carries, how a client says where it was, and the two control messages the
 * service sends. Publishers (`@huleedu/notify`, or any language running the same Lua script),
 * the service and the client all read it from here.
 *
 * Every key of a user sits in the hash slot of the user's channel (`{<channel>}` hash tag), so one
 * Lua script can touch them all in a Redis Cluster, in classic and sharded pub/sub alike.
 */
export interface HistoryKeys {
  /** Redis Stream of the user's positioned messages; entry id `<position>-0`, field `m`. */
  readonly stream: string;
  /** Hash with `epoch` (the history's current epoch) and `top` (the last position assigned). */
  readonly meta: string;
}

/** The Redis keys of one user's history: `{ws:<userId>}:history` and `{ws:<userId>}:meta`. */
export function historyKeys(userId: string, prefix: string = DEFAULT_CHANNEL_PREFIX): HistoryKeys {
  const tag = `{${userChannel(userId, prefix)}}`;
  return { stream: `${tag}:history`, meta: `${tag}:meta` };
}

/** The key that remembers one idempotency key of a user: `{ws:<userId>}:idem:<key>`. */
export function idempotencyKey(
  userId: string,
  key: string,
  prefix: string = DEFAULT_CHANNEL_PREFIX,
): string {
  return `{${userChannel(userId, prefix)}}:idem:${key}`;
}

/**
 * What the durable publish script (`@huleedu/notify`'s `lua/publish.lua`) answers for one
 * message: its position, the history's epoch, live receivers, and whether the idempotency key had
 * been used already (then nothing was published now).
 */
export interface PublishScriptReply {
  position: number;
  epoch: string;
  receivers: number;
  duplicate: boolean;
}

/**
 * Reads the script's raw reply `[position, epoch, receivers, duplicate]`; `undefined` when it has
 * another shape (each publisher reports that in its own error).
 */
export function readPublishScriptReply(reply: unknown): PublishScriptReply | undefined {
  if (!Array.isArray(reply) || reply.length !== 4) return undefined;
  const [position, epoch, receivers, duplicate] = reply as unknown[];
  if (
    typeof position !== 'number' ||
    typeof epoch !== 'string' ||
    typeof receivers !== 'number' ||
    (duplicate !== 0 && duplicate !== 1)
  ) {
    return undefined;
  }
  return { position, epoch, receivers, duplicate: duplicate === 1 };
}

/** The field of a stream entry that holds the message exactly as it was published. */
export const HISTORY_ENTRY_FIELD = 'm';

/**
 * Extra top-level envelope fields of a positioned message (legacy readers ignore them), put first
 * by the publish script: `{"position":17,"epoch":"k3j…","published_ms":1764000000123,"event":…,"data":…}`.
 * - `position`: 1, 2, 3, … per user and epoch, with no gaps;
 * - `epoch`: changes whenever the history was lost (expired, Redis lost its data), so positions of
 *   different epochs are never compared;
 * - `published_ms`: when Redis stored it, in whole milliseconds since the Unix epoch, from Redis's
 *   own clock (`TIME`), so messages of every publisher carry one time source.
 *
 * A publisher's envelope must not carry any of them itself (the script refuses it).
 */
export const positionFields = {
  POSITION: 'position',
  EPOCH: 'epoch',
  PUBLISHED_MS: 'published_ms',
} as const;

/** What an epoch looks like (the publish script refuses anything else): safe inside JSON. */
export const EPOCH_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Query parameters of `GET /ws` besides `token`:
 * - `position` and `epoch`: where the client was (resume); replayed from `position + 1`;
 * - `recent`: on a first connect (no position), also replay the last N messages (capped by the
 *   service), e.g. for a notification centre's first paint.
 */
export const resumeParams = { POSITION: 'position', EPOCH: 'epoch', RECENT: 'recent' } as const;

/**
 * Events the service itself sends, as ordinary `{event, data}` envelopes (never a catalogue type:
 * catalogue names have no dot). Exactly one of them follows each admission when history is on:
 * - `ws.synced` `{position, epoch, replayed}`: the replayed messages (if any) came before it;
 *   everything after it is live. `epoch` is null when the user has no history yet.
 * - `ws.resync` `{reason, position, epoch}`: the gap could not be covered; the app should refetch
 *   its notification list from its own API. Also sent on a live connection when the service
 *   finds a gap it cannot fill (after Redis lost data). The client continues from `position`.
 */
export const controlEvents = { SYNCED: 'ws.synced', RESYNC: 'ws.resync' } as const;

/**
 * Why a gap could not be covered:
 * - `history_trimmed`: messages after the client's position were trimmed (count limit);
 * - `history_lost`: the history expired or Redis lost it (a different epoch, or the client is
 *   ahead of the history);
 * - `replay_limit`: more messages were missed than the service replays;
 * - `history_unavailable`: Redis could not be read in time.
 */
export const resyncReasons = [
  'history_trimmed',
  'history_lost',
  'replay_limit',
  'history_unavailable',
] as const;

/** One of {@link resyncReasons}. */
export type ResyncReason = (typeof resyncReasons)[number];

/** A position: 0 (nothing yet) or the position of a published message. */
const positionSchema = count();
const epochSchema = matching(EPOCH_PATTERN, 'an epoch ([A-Za-z0-9_-], 1-64)', 'an epoch');

/** `data` of {@link controlEvents.SYNCED}. Loose: later fields may be added. */
export const syncedDataSchema = z.looseObject(
  {
    position: positionSchema,
    epoch: z.nullable(epochSchema),
    replayed: count(),
  },
  'an object',
);
/** `data` of a `ws.synced` message. */
export type SyncedData = z.infer<typeof syncedDataSchema>;

/** `data` of {@link controlEvents.RESYNC}. Loose: later fields may be added. */
export const resyncDataSchema = z.looseObject(
  {
    reason: oneOf(resyncReasons),
    position: positionSchema,
    epoch: z.nullable(epochSchema),
  },
  'an object',
);
/** `data` of a `ws.resync` message. */
export type ResyncData = z.infer<typeof resyncDataSchema>;
