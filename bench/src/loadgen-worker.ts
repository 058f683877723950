/**
 * One load-generator process (forked by loadgen.ts). It opens its share of authenticated
 * sockets over several loopback source addresses, timestamps every notification it receives
 * against the send time inside the payload, and answers the parent's commands over IPC.
 */
import { signToken } from '@huleedu/auth';
import { type ClientSocket, openClientSocket } from './client-sockets.js';
import { nowMs, sleep } from './clock.js';
import { LatencyHistogram } from './histogram.js';
import type {
  ConnectResult,
  CountsResult,
  DisconnectResult,
  RetryPolicy,
  StatsResult,
  WorkerPlan,
  WorkerReply,
  WorkerRequest,
} from './loadgen-protocol.js';
import { benchUserId } from './message.js';
import {
  auditPositions,
  newTally,
  type PositionAudit,
  resumeQuery,
  type SocketPosition,
  trackControl,
  trackPositioned,
} from './resume-tracking.js';

interface Slot {
  /** Global user index. */
  readonly user: number;
  /** Global socket number (picks the source address). */
  readonly number: number;
  socket?: ClientSocket;
  open: boolean;
  /** Times this socket has opened (picks the source address set). */
  opens: number;
  /** Wall-clock ms of the last open. */
  openedAt: number;
  /** Position in the reconnect backoff. */
  backoffStep: number;
  reconnecting: boolean;
  /** Reopened after a close since the last reset (the storm waits for every socket to be). */
  back: boolean;
  /** Got a `ws.synced` or `ws.resync` since the last reset. */
  synced: boolean;
  /**
   * The last position this socket saw; kept across reconnects and sent back to resume, forgotten
   * by a disconnect (the next pass connects as new clients).
   */
  state: SocketPosition;
}

let plan: WorkerPlan | undefined;
let slots: Slot[] = [];
let tokens: string[] = [];
let openCount = 0;
let lastOpenAt = 0;
let shuttingDown = false;
let reconnect: { enabled: boolean; retry: RetryPolicy } = {
  enabled: false,
  retry: { attempts: 0, baseMs: 0, maxMs: 0 },
};

const latency = new LatencyHistogram();
let delivered = 0;
let firstDeliveryAt = 0;
let lastDeliveryAt = 0;
let closes: Record<string, number> = {};
let reconnects = 0;
/** Sockets with `back` set. */
let socketsBack = 0;
/** Sockets with `synced` set, and when the last of them got its control message. */
let socketsSynced = 0;
let lastSyncedAt = 0;
let reconnectFailures = 0;
let reconnectFailureReasons: Record<string, number> = {};
let tally = newTally();

function requirePlan(): WorkerPlan {
  if (!plan) throw new Error('init must come first');
  return plan;
}

/** A connection open this long resets the backoff (the browser client's default). */
const BACKOFF_RESET_MS = 5000;

/** Full-jitter exponential backoff: a random delay up to base * 2^attempt, capped. */
function backoffMs(retry: RetryPolicy, attempt: number): number {
  return Math.random() * Math.min(retry.maxMs, retry.baseMs * 2 ** attempt);
}

function onNotification(sentAt: number): void {
  const now = nowMs();
  delivered++;
  if (firstDeliveryAt === 0) firstDeliveryAt = now;
  lastDeliveryAt = now;
  latency.record(now - sentAt);
}

/** The source address of a socket's next attempt: the spare set after every other open. */
function sourceAddressOf(slot: Slot, p: WorkerPlan): string {
  const addresses =
    slot.opens % 2 === 1 && p.spareAddresses.length > 0 ? p.spareAddresses : p.sourceAddresses;
  return addresses[slot.number % addresses.length]!;
}

/** One connection attempt; resolves with `undefined` once open, or the failure reason. */
function attempt(slot: Slot): Promise<string | undefined> {
  const p = requirePlan();
  return new Promise((resolve) => {
    slot.socket = openClientSocket(
      {
        protocol: p.protocol,
        url: p.url,
        token: tokens[slot.user - p.firstUser]!,
        query: resumeQuery(slot.state),
        localAddress: sourceAddressOf(slot, p),
        timeoutMs: p.connectTimeoutMs,
      },
      {
        onOpen() {
          slot.open = true;
          slot.opens++;
          slot.openedAt = nowMs();
          openCount++;
          lastOpenAt = nowMs();
          resolve(undefined);
        },
        onFail(reason) {
          slot.socket = undefined;
          resolve(reason);
        },
        onNotification,
        onPositioned(position, epoch) {
          trackPositioned(slot.state, position, epoch, tally);
        },
        onControl(control) {
          trackControl(slot.state, control, tally);
          if (!slot.synced) {
            slot.synced = true;
            socketsSynced++;
            lastSyncedAt = nowMs();
          }
        },
        onClose(reason) {
          slot.open = false;
          slot.socket = undefined;
          openCount--;
          closes[reason] = (closes[reason] ?? 0) + 1;
          // Like @huleedu/ws-client: a connection that lasted resets the backoff; one the server
          // refused right after the upgrade (1013 not ready, 4000 limit) does not.
          if (nowMs() - slot.openedAt >= BACKOFF_RESET_MS) slot.backoffStep = 0;
          if (reconnect.enabled && !shuttingDown) void reopen(slot, reason === '1001');
        },
      },
    );
  });
}

/**
 * Reopens a socket the server dropped, like `@huleedu/ws-client`: a spread first delay after
 * 1001, full-jitter exponential backoff otherwise and after failures; bounded tries.
 */
async function reopen(slot: Slot, goingAway: boolean): Promise<void> {
  if (slot.reconnecting) return;
  slot.reconnecting = true;
  const { retry } = reconnect;
  try {
    // The spread replaces the backoff only for the first try after a 1001; refusals and
    // failures after that climb the backoff, which only a socket that stays open resets.
    let spread = goingAway ? retry.goingAwaySpreadMs : undefined;
    while (slot.backoffStep <= retry.attempts && !shuttingDown) {
      const delay =
        spread === undefined ? backoffMs(retry, slot.backoffStep++) : Math.random() * spread;
      spread = undefined;
      await sleep(delay);
      if (shuttingDown || slot.open) return;
      const failure = await attempt(slot);
      if (failure === undefined) {
        reconnects++;
        if (!slot.back) {
          slot.back = true;
          socketsBack++;
        }
        return;
      }
      reconnectFailures++;
      reconnectFailureReasons[failure] = (reconnectFailureReasons[failure] ?? 0) + 1;
    }
  } finally {
    slot.reconnecting = false;
  }
}

/** Sockets tried so far in this pass, in slot order; connect calls continue from here. */
let tried = 0;
/** Connect calls running now (a disconnect must not restart the pass under them). */
let connecting = 0;

async function connectShare(share: number, sourceAddresses?: string[]): Promise<ConnectResult> {
  if (sourceAddresses !== undefined) {
    if (sourceAddresses.length === 0) throw new Error('connect: sourceAddresses is empty');
    plan = { ...requirePlan(), sourceAddresses };
  }
  const p = requirePlan();
  connecting++;
  try {
    return await connectPass(p, share);
  } finally {
    connecting--;
  }
}

async function connectPass(p: WorkerPlan, share: number): Promise<ConnectResult> {
  const failures: Record<string, number> = {};
  const upTo = Math.min(slots.length, Math.ceil(slots.length * Math.min(Math.max(share, 0), 1)));
  const startedAt = nowMs();
  const lane = async (): Promise<void> => {
    while (tried < upTo && !shuttingDown) {
      const slot = slots[tried++]!;
      for (let tries = 0; tries <= p.retry.attempts; tries++) {
        if (tries > 0) await sleep(backoffMs(p.retry, tries - 1));
        const failure = await attempt(slot);
        if (failure === undefined) break;
        failures[failure] = (failures[failure] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(p.concurrency, upTo) }, lane));
  const finishedAt = nowMs();
  const incompleteUsers = tried >= slots.length ? incomplete() : [];
  return {
    opened: openCount,
    failed: tried - openCount,
    failures,
    startedAt,
    finishedAt,
    incompleteUsers,
  };
}

/** Users of this process with fewer than `tabs` sockets open now. */
function incomplete(): number[] {
  const p = requirePlan();
  const openByUser = new Map<number, number>();
  for (const slot of slots) {
    if (slot.open) openByUser.set(slot.user, (openByUser.get(slot.user) ?? 0) + 1);
  }
  const users: number[] = [];
  for (let user = p.firstUser; user < p.firstUser + p.userCount; user++) {
    if ((openByUser.get(user) ?? 0) < p.tabs) users.push(user);
  }
  return users;
}

function counts(): CountsResult {
  return {
    delivered,
    fresh: tally.fresh,
    open: openCount,
    back: socketsBack,
    lastDeliveryAt,
    lastOpenAt,
    synced: socketsSynced,
    lastSyncedAt,
  };
}

function stats(): StatsResult {
  return {
    ...counts(),
    firstDeliveryAt,
    latency: latency.snapshot(),
    closes,
    reconnects,
    reconnectFailures,
    reconnectFailureReasons,
    resume: tally,
  };
}

/** How far this process's sockets are behind the positions published to their users. */
function audit(published: Array<[user: number, position: number, epoch: string]>): PositionAudit {
  const tops = new Map(published.map(([user, position, epoch]) => [user, { position, epoch }]));
  return auditPositions(
    slots.map((slot) => ({ user: slot.user, state: slot.state })),
    (user) => tops.get(user),
  );
}

function resetStats(): void {
  latency.reset();
  delivered = 0;
  firstDeliveryAt = 0;
  lastDeliveryAt = 0;
  closes = {};
  reconnects = 0;
  socketsBack = 0;
  socketsSynced = 0;
  lastSyncedAt = 0;
  for (const slot of slots) {
    slot.back = false;
    slot.synced = false;
  }
  reconnectFailures = 0;
  reconnectFailureReasons = {};
  tally = newTally();
}

function init(next: WorkerPlan): { sockets: number } {
  plan = next;
  tokens = [];
  slots = [];
  for (let i = 0; i < next.userCount; i++) {
    const user = next.firstUser + i;
    tokens.push(
      signToken(benchUserId(user), { secret: next.secret, expiresInSeconds: next.tokenTtlSeconds }),
    );
    for (let tab = 0; tab < next.tabs; tab++) {
      slots.push({
        user,
        number: next.firstSocket + i * next.tabs + tab,
        open: false,
        opens: 0,
        openedAt: 0,
        backoffStep: 0,
        reconnecting: false,
        back: false,
        synced: false,
        state: { position: 0, epoch: null },
      });
    }
  }
  return { sockets: slots.length };
}

/**
 * Closes every socket from the client side, waits until each connection is gone (dropping the
 * ones still there after `timeoutMs`) and starts a new pass: the next connect opens every socket
 * again, with no resume position, like the first pass did. Client-side closes are not counted
 * among the closes the server caused.
 */
async function disconnectAll(timeoutMs: number): Promise<DisconnectResult> {
  if (reconnect.enabled) throw new Error('disconnect: turn reconnecting off first');
  if (connecting > 0) throw new Error('disconnect: a connect is still running');
  const closing: Promise<boolean>[] = [];
  for (const slot of slots) {
    const socket = slot.socket;
    slot.socket = undefined;
    if (slot.open) {
      slot.open = false;
      openCount--;
    }
    slot.state = { position: 0, epoch: null };
    if (socket) closing.push(socket.close(timeoutMs));
  }
  tried = 0;
  const results = await Promise.all(closing);
  const closed = results.filter(Boolean).length;
  return { closed, dropped: results.length - closed };
}

function closeAll(): { closed: number } {
  shuttingDown = true;
  let closed = 0;
  for (const slot of slots) {
    if (slot.socket) {
      slot.socket.destroy();
      closed++;
    }
    slot.socket = undefined;
    slot.open = false;
  }
  openCount = 0;
  return { closed };
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.cmd) {
    case 'init':
      return init(request.plan);
    case 'connect':
      return connectShare(request.share, request.sourceAddresses);
    case 'disconnect':
      return disconnectAll(request.timeoutMs);
    case 'counts':
      return counts();
    case 'incomplete':
      return incomplete();
    case 'stats':
      return stats();
    case 'audit':
      return audit(request.published);
    case 'reset':
      resetStats();
      return {};
    case 'reconnect':
      reconnect = { enabled: request.enabled, retry: request.retry };
      return {};
    case 'close':
      return closeAll();
  }
}

process.on('message', (request: WorkerRequest) => {
  handle(request).then(
    (result) => {
      const reply: WorkerReply = { id: request.id, ok: true, result };
      process.send?.(reply, undefined, {}, () => {
        if (request.cmd === 'close') process.exit(0);
      });
    },
    (error: unknown) => {
      const reply: WorkerReply = {
        id: request.id,
        ok: false,
        error: {
          code: (error as { code?: string }).code ?? 'loadgen_failed',
          message: error instanceof Error ? error.message : String(error),
        },
      };
      process.send?.(reply);
    },
  );
});

// An orphaned load generator would hold thousands of sockets open: leave with the parent.
process.on('disconnect', () => process.exit(0));
