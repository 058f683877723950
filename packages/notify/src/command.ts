import { parseArgs } from 'node:util';
import {
  DEFAULT_CHANNEL_PREFIX,
  isNotificationType,
  notificationTypes,
  type Priority,
  priorities,
  userChannel,
} from '@huleedu/ws-protocol';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from './disconnect.js';
import { NotificationValidationError, NotifierError } from './errors.js';
import {
  DEFAULT_HISTORY_MAX_LENGTH,
  DEFAULT_HISTORY_TTL_SECONDS,
  DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  type HistoryOptions,
} from './history.js';
import { createNotifier, type PublishMode, type PublishResult, publishModes } from './notifier.js';
import { userIdProblem } from './user-id.js';

/** Exit codes of `huleedu-notify`. */
export const exitCodes = {
  /** Published (or the user disconnected). */
  OK: 0,
  /** Redis failed (unreachable, timed out, refused the command). Retrying later may help. */
  REDIS_ERROR: 1,
  /** Bad arguments, bad JSON or an invalid payload. Retrying the same command will not help. */
  USAGE: 2,
} as const;

/** Redis URL when neither `--redis` nor the environment names one. */
export const DEFAULT_REDIS_URL = 'redis://localhost:6379';

/** Usage text printed by `--help`. */
export const usage = `Usage: huleedu-notify --user <id> (--type <type> | --raw-event <event>) [options]
       huleedu-notify --user <id> --disconnect --reason <reason> [--issued-before <time>] [options]

Publishes one notification to a user's Redis channel, as @huleedu/notify does: stored in the
user's history and published live, in one atomic step (--no-history: a plain PUBLISH only). Or
cuts the user off (--disconnect): every service instance closes the user's sockets with 1008
token_revoked.

  --user <id>            user id (JWT sub) to notify                        (required)
  --type <type>          catalogue notification type, e.g. batch_results_ready
  --raw-event <event>    publish an event outside the catalogue (no payload checks)
  --data <json>          payload object (default {})
  --priority <p>         override the catalogue priority: ${priorities.join(', ')}
  --action-required      mark the notification as requiring action
  --deadline <iso>       deadline, ISO 8601 with time zone (default none)
  --correlation-id <id>  correlation id (default a fresh UUID)
  --disconnect           close every socket of the user now (the client fetches a fresh token)
  --reason <reason>      with --disconnect: why, for the service's log (logout, password_changed)
  --issued-before <time> with --disconnect: also refuse tokens issued before <time>: now, an
                         ISO 8601 time with time zone, or epoch seconds
  --max-token-lifetime <s>
                         with --issued-before: the service's JWT_MAX_LIFETIME_SECONDS
                         (default ${DEFAULT_MAX_TOKEN_LIFETIME_SECONDS}), how long the revocation is kept
  --prefix <prefix>      channel prefix (default ${DEFAULT_CHANNEL_PREFIX})
  --publish-mode <mode>  classic (PUBLISH, default), sharded (SPUBLISH, Redis 7 cluster) or both
  --redis <url>          Redis URL (default $WEBSOCKET_REDIS_URL, $REDIS_URL, ${DEFAULT_REDIS_URL})
  --cluster              --redis is a comma-separated list of Redis Cluster node URLs
  --idempotency-key <k>  publish at most once per key: a retry with the same key publishes nothing
  --history-max-length <n>  messages kept per user (default ${DEFAULT_HISTORY_MAX_LENGTH}; use your backends' value)
  --history-ttl <s>      seconds a user's history lives after its last message (default ${DEFAULT_HISTORY_TTL_SECONDS})
  --idempotency-ttl <s>  seconds an idempotency key is remembered (default ${DEFAULT_IDEMPOTENCY_TTL_SECONDS})
  --no-history           plain PUBLISH/SPUBLISH: nothing stored, nothing replayable
  --json                 print the result as JSON: {"id","position","epoch","receivers","duplicate"}
  -h, --help             show this help

Prints the message's position in the user's history and how many subscribers received it live.
Exit codes: 0 published (or a duplicate of an earlier publish with the same key), 1 Redis error,
2 bad arguments or invalid payload.

Examples:
  huleedu-notify --user teacher-1 --type batch_results_ready \\
    --data '{"batch_id":"b1","results_count":3,"message":"Results ready"}'
  huleedu-notify --user teacher-1 --disconnect --reason password_changed --issued-before now`;

/** A command line that was understood: what to publish, where. */
export interface PublishCommand {
  kind: 'publish';
  /** A URL, or cluster seed URLs with `--cluster`. */
  redis: string | { cluster: string[] };
  userId: string;
  prefix: string;
  publishMode: PublishMode;
  /** A catalogue type, or a raw event when `raw` is true. */
  event: string;
  raw: boolean;
  data: Record<string, unknown>;
  priority?: Priority;
  actionRequired?: boolean;
  deadline?: string;
  correlationId?: string;
  /** `false` with `--no-history`. */
  history: HistoryOptions | false;
  idempotencyKey?: string;
  /** Print the result as JSON rather than a sentence. */
  json: boolean;
}

/** A `--disconnect` command line: whom to cut off, why, and since when tokens are refused. */
export interface DisconnectCommand {
  kind: 'disconnect';
  redis: string | { cluster: string[] };
  userId: string;
  prefix: string;
  publishMode: PublishMode;
  reason: string;
  /** Epoch seconds. */
  issuedBefore?: number;
  maxTokenLifetimeSeconds?: number;
}

/** The result of {@link parseCommand}. */
export type ParsedCommand = { kind: 'help' } | PublishCommand | DisconnectCommand;

/** A command line that cannot run as written. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Parses `huleedu-notify` arguments (without `node` and the script). Throws {@link UsageError}
 * with a message naming the bad argument.
 */
export function parseCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedCommand {
  let values: ReturnType<typeof parseOptions>['values'];
  try {
    values = parseOptions(argv).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return { kind: 'help' };

  if (values.user === undefined) throw new UsageError('--user is required');
  const userProblem = userIdProblem(values.user);
  if (userProblem !== undefined) throw new UsageError(`--user: ${userProblem}`);
  if (values.disconnect) return parseDisconnect(values, values.user, target(values, env));
  for (const flag of ['reason', 'issued-before', 'max-token-lifetime'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} only applies to --disconnect`);
  }

  if ((values.type === undefined) === (values['raw-event'] === undefined)) {
    throw new UsageError('give exactly one of --type <notification type> or --raw-event <event>');
  }
  const raw = values.type === undefined;
  const event = (values.type ?? values['raw-event'])!;
  if (!raw && !isNotificationType(event)) {
    throw new UsageError(
      `--type: unknown notification type ${JSON.stringify(event)}; known types: ${notificationTypes.join(', ')}`,
    );
  }
  if (raw) {
    for (const flag of ['priority', 'action-required', 'deadline', 'correlation-id'] as const) {
      if (values[flag] !== undefined) {
        throw new UsageError(`--${flag} only applies to --type; put it in --data for --raw-event`);
      }
    }
  }

  const priority = values.priority;
  if (priority !== undefined && !(priorities as readonly string[]).includes(priority)) {
    throw new UsageError(
      `--priority: expected one of ${priorities.join(', ')}, got ${JSON.stringify(priority)}`,
    );
  }
  const history = parseHistory(values);
  if (history === false && values['idempotency-key'] !== undefined) {
    throw new UsageError('--idempotency-key needs the history: drop --no-history');
  }
  return {
    kind: 'publish',
    ...target(values, env),
    userId: values.user,
    event,
    raw,
    data: parseData(values.data),
    ...(priority !== undefined ? { priority: priority as Priority } : {}),
    ...(values['action-required'] ? { actionRequired: true } : {}),
    ...(values.deadline !== undefined ? { deadline: values.deadline } : {}),
    ...(values['correlation-id'] !== undefined ? { correlationId: values['correlation-id'] } : {}),
    history,
    ...(values['idempotency-key'] !== undefined
      ? { idempotencyKey: values['idempotency-key'] }
      : {}),
    json: values.json === true,
  };
}

type Values = ReturnType<typeof parseOptions>['values'];
type Target = Pick<PublishCommand, 'redis' | 'prefix' | 'publishMode'>;

/** Where a command goes: Redis, channel prefix, publish mode. */
function target(values: Values, env: Readonly<Record<string, string | undefined>>): Target {
  const publishMode = (values['publish-mode'] ?? 'classic') as PublishMode;
  if (!publishModes.includes(publishMode)) {
    throw new UsageError(
      `--publish-mode: expected one of ${publishModes.join(', ')}, got ${JSON.stringify(publishMode)}`,
    );
  }
  const redis = values.redis ?? env['WEBSOCKET_REDIS_URL'] ?? env['REDIS_URL'] ?? DEFAULT_REDIS_URL;
  return {
    redis: values.cluster
      ? {
          cluster: redis
            .split(',')
            .map((url) => url.trim())
            .filter((url) => url !== ''),
        }
      : redis,
    prefix: values.prefix ?? DEFAULT_CHANNEL_PREFIX,
    publishMode,
  };
}

/** The `--disconnect` form: `--reason` required, `--issued-before` optional, nothing to publish. */
function parseDisconnect(values: Values, userId: string, where: Target): DisconnectCommand {
  for (const flag of [
    'type',
    'raw-event',
    'data',
    'priority',
    'action-required',
    'deadline',
    'correlation-id',
    'idempotency-key',
    'history-max-length',
    'history-ttl',
    'idempotency-ttl',
    'no-history',
    'json',
  ] as const) {
    if (values[flag] !== undefined) {
      throw new UsageError(`--${flag} does not apply to --disconnect`);
    }
  }
  if (values.reason === undefined) {
    throw new UsageError('--disconnect needs --reason <reason>, e.g. --reason logout');
  }
  const lifetime = values['max-token-lifetime'];
  if (lifetime !== undefined && !/^\d+$/.test(lifetime)) {
    throw new UsageError(
      `--max-token-lifetime: expected a whole number of seconds, got ${JSON.stringify(lifetime)}`,
    );
  }
  const issuedBefore = values['issued-before'];
  return {
    kind: 'disconnect',
    ...where,
    userId,
    reason: values.reason,
    ...(issuedBefore === undefined ? {} : { issuedBefore: parseTime(issuedBefore) }),
    ...(lifetime === undefined ? {} : { maxTokenLifetimeSeconds: Number(lifetime) }),
  };
}

/** `now`, epoch seconds, or an ISO 8601 time with a time zone, as epoch seconds. */
function parseTime(text: string): number {
  if (text === 'now') return Date.now() / 1000;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(text) || Number.isNaN(ms)) {
    throw new UsageError(
      `--issued-before: expected now, epoch seconds or an ISO 8601 time with a time zone (2026-11-30T08:00:00Z), got ${JSON.stringify(text)}`,
    );
  }
  return ms / 1000;
}

/** Where {@link runCommand} writes; the CLI passes the process streams. */
export interface CommandOutput {
  stdout(line: string): void;
  stderr(line: string): void;
}

/**
 * Runs `huleedu-notify` and resolves to its exit code (see {@link exitCodes}). Never rejects:
 * every failure is printed to `stderr` with what to fix.
 */
export async function runCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  output: CommandOutput,
): Promise<number> {
  let command: ParsedCommand;
  try {
    command = parseCommand(argv, env);
  } catch (error) {
    output.stderr(`huleedu-notify: ${(error as Error).message}`);
    output.stderr('Run huleedu-notify --help for usage.');
    return exitCodes.USAGE;
  }
  if (command.kind === 'help') {
    output.stdout(usage);
    return exitCodes.OK;
  }
  if (command.kind === 'disconnect') return runDisconnectCommand(command, output);

  try {
    const notifier = createNotifier({
      redis: command.redis,
      channelPrefix: command.prefix,
      publishMode: command.publishMode,
      history: command.history,
    });
    try {
      const delivery =
        command.idempotencyKey !== undefined ? { idempotencyKey: command.idempotencyKey } : {};
      const result = command.raw
        ? await notifier.publish(command.userId, command.event, command.data, delivery)
        : await notifier.publishUserNotification(
            command.userId,
            command.event as 'batch_results_ready',
            // Checked at run time against the catalogue; a CLI cannot be checked at compile time.
            command.data as never,
            {
              ...(command.priority !== undefined ? { priority: command.priority } : {}),
              ...(command.actionRequired !== undefined
                ? { actionRequired: command.actionRequired }
                : {}),
              ...(command.deadline !== undefined ? { deadline: command.deadline } : {}),
              ...(command.correlationId !== undefined
                ? { correlationId: command.correlationId }
                : {}),
              ...delivery,
            },
          );
      output.stdout(command.json ? JSON.stringify(result) : describeResult(command, result));
      return exitCodes.OK;
    } finally {
      await notifier.close();
    }
  } catch (error) {
    return failed(error, output);
  }
}

/** Prints a failure and maps it to an exit code: bad input 2, Redis 1. */
function failed(error: unknown, output: CommandOutput): number {
  output.stderr(`huleedu-notify: ${(error as Error).message}`);
  if (error instanceof NotificationValidationError) return exitCodes.USAGE;
  if (error instanceof NotifierError && error.code === 'invalid_options') return exitCodes.USAGE;
  return exitCodes.REDIS_ERROR;
}

async function runDisconnectCommand(
  command: DisconnectCommand,
  output: CommandOutput,
): Promise<number> {
  try {
    const notifier = createNotifier({
      redis: command.redis,
      channelPrefix: command.prefix,
      publishMode: command.publishMode,
      ...(command.maxTokenLifetimeSeconds === undefined
        ? {}
        : { maxTokenLifetimeSeconds: command.maxTokenLifetimeSeconds }),
    });
    try {
      const receivers = await notifier.disconnectUser(command.userId, {
        reason: command.reason,
        ...(command.issuedBefore === undefined ? {} : { issuedBefore: command.issuedBefore }),
      });
      const since =
        command.issuedBefore === undefined
          ? ''
          : `; tokens issued before ${new Date(Math.floor(command.issuedBefore) * 1000).toISOString()} are refused`;
      output.stdout(
        `disconnected ${command.userId} (${receivers} ${receivers === 1 ? 'service instance' : 'service instances'} held a socket)${since}`,
      );
      return exitCodes.OK;
    } finally {
      await notifier.close();
    }
  } catch (error) {
    return failed(error, output);
  }
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      redis: { type: 'string' },
      user: { type: 'string' },
      type: { type: 'string' },
      'raw-event': { type: 'string' },
      data: { type: 'string' },
      priority: { type: 'string' },
      'action-required': { type: 'boolean' },
      deadline: { type: 'string' },
      'correlation-id': { type: 'string' },
      prefix: { type: 'string' },
      'publish-mode': { type: 'string' },
      cluster: { type: 'boolean' },
      'idempotency-key': { type: 'string' },
      'history-max-length': { type: 'string' },
      'history-ttl': { type: 'string' },
      'idempotency-ttl': { type: 'string' },
      'no-history': { type: 'boolean' },
      json: { type: 'boolean' },
      disconnect: { type: 'boolean' },
      reason: { type: 'string' },
      'issued-before': { type: 'string' },
      'max-token-lifetime': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function parseData(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--data is not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(
      '--data must be a JSON object, e.g. \'{"batch_id":"b1","message":"..."}\'',
    );
  }
  return value as Record<string, unknown>;
}

const historyFlags = {
  'history-max-length': 'maxLength',
  'history-ttl': 'ttlSeconds',
  'idempotency-ttl': 'idempotencyTtlSeconds',
} as const;

/** The `history` option from the flags; ranges are checked by createNotifier. */
function parseHistory(values: ReturnType<typeof parseOptions>['values']): HistoryOptions | false {
  const history: HistoryOptions = {};
  for (const [flag, field] of Object.entries(historyFlags) as [
    keyof typeof historyFlags,
    keyof HistoryOptions,
  ][]) {
    const text = values[flag];
    if (text === undefined) continue;
    if (values['no-history'])
      throw new UsageError(`--${flag} and --no-history contradict each other`);
    if (!/^\d{1,10}$/.test(text)) {
      throw new UsageError(`--${flag}: expected a whole number, got ${JSON.stringify(text)}`);
    }
    history[field] = Number(text);
  }
  return values['no-history'] ? false : history;
}

/** One line saying what a publish did, e.g. `published x to ws:u at position 3 of epoch E (1 receiver)`. */
function describeResult(command: PublishCommand, result: PublishResult): string {
  const channel = userChannel(command.userId, command.prefix);
  const where =
    result.position === null ? '' : ` at position ${result.position} of epoch ${result.epoch}`;
  if (result.duplicate) {
    return `not published: ${channel} already has the message of idempotency key ${JSON.stringify(command.idempotencyKey)}${where.replace(' at', ',')}`;
  }
  const receivers = `${result.receivers} ${result.receivers === 1 ? 'receiver' : 'receivers'}`;
  return `published ${command.event} to ${channel}${where} (${receivers})`;
}
