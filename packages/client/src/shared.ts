import { type Sink, tokenUnavailable } from './dispatch.js';
import { createHistoryCursor, type HistoryPosition } from './position.js';
import { createSocketConnection, type SocketConnection } from './socket.js';
import { type ConnectionState, canTransition, type StateInfo } from './state.js';
import { subjectOf } from './token.js';
import type { AnyNotification, Delivery, NotificationClientOptions, TabsInfo } from './types.js';

/** How often the leader says it is alive and the other tabs say they are there, in ms. */
const BEAT_MS = 250;
/**
 * A leader whose beat is unheard for this long (plus up to a fifth again, at random) is taken
 * over, in ms. Above the 1 s a browser slows a hidden tab's timers to, below the 2 s handover.
 */
const SILENCE_MS = 1_100;
/** A beat this late means this tab itself was frozen or throttled: it judges nobody, in ms. */
const LATE_MS = 2_000;
/** How many notifications each tab keeps to replay to a tab that joins with `recent`. */
const KEPT = 100;

/** A notification as the tabs pass it on. */
interface Kept {
  m: AnyNotification;
  d: Delivery;
  k: boolean;
}

/**
 * What the tabs say on their BroadcastChannel. From the leader: `n` notification, `l` a state
 * change, resync or error (event `e`, arguments `a`), `h` alive (with the tab count), `w` welcome
 * to one joining tab. From the others: `hi` (joining, wants `r` recent ones) and `a` (still here,
 * at position `p`).
 */
type Frame = { from: string; term: number; p?: HistoryPosition } & (
  | ({ t: 'n' } & Kept)
  | { t: 'l'; e: string; a: unknown[] }
  | { t: 'h'; n: number }
  | { t: 'w'; to: string; l: Kept[]; s: ConnectionState; i: StateInfo }
  | { t: 'hi'; r: number }
  | { t: 'a' }
);
type Said = Frame extends infer F ? (F extends Frame ? Omit<F, 'from' | 'term'> : never) : never;

interface LockManager {
  request(
    name: string,
    options: { steal?: boolean; signal?: AbortSignal },
    callback: () => Promise<void>,
  ): Promise<void>;
}

const locks = () => (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;

/** True when this browser can share a connection between tabs (Web Locks and BroadcastChannel). */
export function canShareTabs(options: NotificationClientOptions): boolean {
  return options.shareAcrossTabs !== false && !!locks() && typeof BroadcastChannel === 'function';
}

/**
 * A connection whose tabs share one socket, reporting to this tab's handlers through `local`: the
 * tabs of one origin, service and user elect a leader with a Web Lock; only the leader holds the
 * socket and passes everything on over a BroadcastChannel. Each tab keeps its own history position
 * and hands a notification to its handlers once; a new leader resumes from where its tab was (or
 * the newest position another tab reported, when it had none), so a handover loses and repeats
 * nothing.
 */
export function createSharedConnection(
  options: NotificationClientOptions,
  local: Sink,
): SocketConnection {
  const id = Math.random().toString(36).slice(2);
  const cursor = createHistoryCursor(options.resumeFrom, 0);
  const kept: Kept[] = [];
  let state: ConnectionState = 'idle';
  let lastInfo: StateInfo = { attempt: 0 };
  let tabs: TabsInfo | undefined;
  let leave: (() => void) | undefined;
  // Bumped by close(): a connect still reading the token's user gives up.
  let joins = 0;

  function moveTo(next: ConnectionState, info: StateInfo): void {
    lastInfo = info;
    if (next === state && next !== 'reconnecting') return;
    // A mirrored leader may be further along (or a new leader starting over): pass the step between.
    if (!canTransition(state, next)) {
      state = next === 'open' ? 'connecting' : 'reconnecting';
      local.emit('state', state, { attempt: info.attempt });
    }
    state = next;
    local.emit('state', next, info);
    if (next === 'closed') stop();
  }

  function setTabs(next: TabsInfo | undefined): void {
    if (next?.leader === tabs?.leader && next?.count === tabs?.count) return;
    tabs = next;
    local.emit('tabs', next);
  }

  /** Hands a notification to this tab's handlers unless they had it already. */
  function take({ m, d, k }: Kept): void {
    if (d.epoch !== undefined && d.position !== undefined) {
      const at = { position: d.position, epoch: d.epoch };
      if (cursor.seen(at)) return;
      cursor.moveTo(at);
    }
    kept.push({ m, d, k });
    if (kept.length > KEPT) kept.shift();
    local.deliver(m, d, k);
  }

  /** Moves this tab's position forward to `at` (what the leader has reached). */
  function advance(at: HistoryPosition | undefined): void {
    const now = cursor.current;
    if (at && (!now || now.epoch !== at.epoch || at.position > now.position)) cursor.moveTo(at);
  }

  /** A socket of this tab's own (not connected yet) that reports to `sink`. */
  const connection = (
    sink: Sink,
    resumeFrom: HistoryPosition | undefined,
    getToken = options.getToken,
  ): SocketConnection => createSocketConnection({ ...options, resumeFrom, getToken }, sink);

  /** Joins the tabs of `key`; returns the function that leaves them. */
  function join(key: string, firstToken: string | undefined): () => void {
    const name = `huleedu-ws ${options.url} ${key}`;
    const channel = new BroadcastChannel(name);
    const silence = SILENCE_MS * (1 + Math.random() / 5);
    // The other tabs: when each was last heard.
    const peers = new Map<string, number>();
    // The newest leadership this tab knows of, and whose it is.
    let term = 0;
    let leaderId: string | undefined;
    let heardAt = Date.now();
    let tickAt = heardAt;
    let welcomed = false;
    const early: Kept[] = [];
    let newest: HistoryPosition | undefined;
    let leading: SocketConnection | undefined;
    let resign: (() => void) | undefined;
    let ticket = 0;
    let leadTicket = 0;
    let queued: AbortController | undefined;

    const say = (frame: Said) =>
      channel.postMessage({ ...frame, from: id, term, p: leading?.position ?? cursor.current });

    const getToken: NotificationClientOptions['getToken'] = async (context) => {
      const token = firstToken && !context.refresh ? firstToken : await options.getToken(context);
      firstToken = undefined;
      if (options.shareKey === undefined && subjectOf(token) !== key) {
        // Signed in as someone else: never connect for them on these tabs' behalf.
        queueMicrotask(restart);
        throw new Error('the token is for another user; this tab switches to their tabs');
      }
      return token;
    };

    function campaign(steal: boolean): void {
      const mine = ++ticket;
      queued?.abort();
      queued = new AbortController();
      locks()!
        .request(name, steal ? { steal } : { signal: queued.signal }, () => lead(mine))
        .catch(() => {})
        .then(() => {
          if (leadTicket === mine) stopLeading();
          if (mine === ticket) campaign(false);
        });
    }

    function lead(mine: number): Promise<void> {
      if (mine !== ticket) return Promise.resolve();
      term++;
      leaderId = id;
      leadTicket = mine;
      welcomed = true;
      const resumeFrom = cursor.current ?? newest;
      const relay: Sink = {
        deliver(m, d, k) {
          if (leading !== own) return;
          take({ m, d, k });
          say({ t: 'n', m, d, k });
        },
        emit(event, ...args) {
          if (leading !== own) return;
          say({ t: 'l', e: event, a: args });
          forward(event, args);
        },
      };
      const own = connection(relay, resumeFrom, getToken);
      leading = own;
      for (const item of early.splice(0)) take(item);
      own.connect();
      beat();
      return new Promise((resolve) => {
        resign = resolve;
      });
    }

    function stopLeading(): void {
      const own = leading;
      leading = undefined;
      if (leaderId === id) leaderId = undefined;
      own?.close();
    }

    function beat(): void {
      const now = Date.now();
      if (now - tickAt > LATE_MS) heardAt = now;
      tickAt = now;
      for (const [peer, at] of peers) if (now - at > silence * 2) peers.delete(peer);
      if (leading) {
        say({ t: 'h', n: peers.size + 1 });
        setTabs({ leader: true, count: peers.size + 1 });
      } else {
        say({ t: 'a' });
        if (now - heardAt > silence) {
          heardAt = now;
          campaign(true);
        }
      }
    }

    channel.onmessage = ({ data: f }: MessageEvent<Frame>) => {
      if (f.t === 'a' || f.t === 'hi') {
        peers.set(f.from, Date.now());
        if (f.p && (!newest || (f.p.epoch === newest.epoch && f.p.position > newest.position))) {
          newest = f.p;
        }
        if (f.t === 'hi' && leading) {
          say({ t: 'w', to: f.from, l: f.r > 0 ? kept.slice(-f.r) : [], s: state, i: lastInfo });
        }
        return;
      }
      if (f.term < term || (f.term === term && f.from !== leaderId && leaderId !== undefined)) {
        return; // a leader that was taken over and has not noticed yet
      }
      if (f.term > term) {
        term = f.term;
        // Taken over (this tab was frozen, say): the lock is gone already; so is the socket.
        stopLeading();
        leaderId = f.from;
      }
      if (f.t === 'w') {
        if (f.to !== id || welcomed) return;
        welcomed = true;
        firstToken = undefined;
        for (const item of f.l)
          if (item.d.position) take({ ...item, d: { ...item.d, replayed: true } });
        for (const item of early.splice(0)) take(item);
        moveTo(f.s, f.i);
      } else if (f.t === 'n') {
        if (welcomed) take(f);
        else early.push(f);
      } else if (f.t === 'l') {
        forward(f.e, f.a);
      } else {
        // Only the timer-driven beat proves the leader's page runs: a frozen page still relays.
        heardAt = Date.now();
        setTabs({ leader: false, count: f.n });
        if (!welcomed) say({ t: 'hi', r: options.recent ?? 0 });
      }
      // Not before the welcome: the notifications held back until then are below `p`.
      if (welcomed) advance(f.p);
    };

    const timer = setInterval(beat, BEAT_MS);
    say({ t: 'hi', r: options.recent ?? 0 });
    campaign(false);
    return () => {
      ticket++;
      queued?.abort();
      resign?.();
      stopLeading();
      clearInterval(timer);
      channel.close();
    };
  }

  // Bad options throw here, as they do for a client of its own, not later in a connect.
  connection(local, options.resumeFrom);

  async function start(): Promise<void> {
    const mine = ++joins;
    let key = options.shareKey;
    let token: string | undefined;
    if (key === undefined) {
      try {
        token = await options.getToken({ refresh: false, attempt: 1 });
        key = subjectOf(token);
      } catch (thrown) {
        local.emit('error', tokenUnavailable(thrown));
      }
    }
    if (mine !== joins) return;
    if (key !== undefined) {
      leave = join(key, token);
      return;
    }
    // Whose tabs to share with is unknown: this tab keeps a socket of its own.
    const own = connection(
      { deliver: (m, d, k) => take({ m, d, k }), emit: (event, ...args) => forward(event, args) },
      cursor.current,
    );
    own.connect();
    leave = () => own.close();
  }

  function forward(event: string, args: unknown[]): void {
    if (event === 'state') moveTo(...(args as [ConnectionState, StateInfo]));
    else (local.emit as (name: string, ...rest: unknown[]) => void)(event, ...args);
  }

  function stop(): void {
    joins++;
    const leaving = leave;
    leave = undefined;
    leaving?.();
    setTabs(undefined);
  }

  function restart(): void {
    stop();
    start();
  }

  return {
    get state() {
      return state;
    },
    get position() {
      return cursor.current;
    },
    get tabs() {
      return tabs;
    },
    connect() {
      if (state !== 'idle' && state !== 'closed') return;
      moveTo('connecting', { attempt: 1 });
      start();
    },
    close() {
      if (state === 'closed') return;
      stop();
      moveTo('closed', { attempt: 0 });
    },
  };
}
