import { readdirSync, readFileSync } from 'node:fs';
import {
  type ServiceProcess,
  serviceEntry,
  startService,
  TEST_SECRET,
  waitFor,
} from '@huleedu/test-support';
import { controlEvents } from '@huleedu/ws-protocol';
import { WebSocket } from 'ws';

export type { ServiceProcess } from '@huleedu/test-support';

/** The built entry point the integration tests run, exactly as production does. */
export const MAIN = serviceEntry();

/** The shared secret every integration service uses unless a test says otherwise. */
export const SECRET = TEST_SECRET;

/**
 * Spawns the built service with `env` on a free loopback port (debug logs, so tests can read
 * every line) and resolves once it logged `listening` (as `uid`/`gid` when given; with
 * `openFiles`, under that open-file limit, set by `prlimit`). Rejects with the process output if
 * it exits or stays silent for 20 s.
 */
export function startServiceProcess(
  env: Record<string, string>,
  options: { main?: string; cwd?: string; uid?: number; gid?: number; openFiles?: number } = {},
): Promise<ServiceProcess> {
  const { main, openFiles, ...spawnOptions } = options;
  return startService({
    ...spawnOptions,
    ...(main === undefined ? {} : { entry: main }),
    // prlimit execs the command: the child's pid is the service's.
    ...(openFiles === undefined
      ? {}
      : { wrapper: ['prlimit', `--nofile=${openFiles}:${openFiles}`] }),
    env: { LOG_LEVEL: 'debug', ...env },
    readyTimeoutMs: 20_000,
  });
}

/** A control message the service sent (`ws.synced`, `ws.resync`), parsed. */
export interface ControlMessage {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** A real `ws` client with what it received and how it closed. */
export interface TestClient {
  readonly socket: WebSocket;
  /**
   * Text frames received, in order: notifications and heartbeat answers, without the history's
   * control messages (those are in {@link controls}).
   */
  readonly frames: string[];
  /** The history's control messages (`ws.synced`, `ws.resync`), in order. */
  readonly controls: ControlMessage[];
  /** Every text frame received, control messages included, in order. */
  readonly all: string[];
  /** Resolves when the handshake completes; rejects if it fails. */
  readonly opened: Promise<void>;
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

const openClients = new Set<WebSocket>();

/**
 * Connects a client (offering `protocols` as `Sec-WebSocket-Protocol`, when given); it is
 * terminated by {@link terminateClients}.
 */
export function connectClient(
  url: string,
  options: ConstructorParameters<typeof WebSocket>[2] = {},
  protocols: string[] = [],
): TestClient {
  const socket = new WebSocket(url, protocols, options);
  openClients.add(socket);
  const frames: string[] = [];
  const controls: ControlMessage[] = [];
  const all: string[] = [];
  socket.on('message', (data, isBinary) => {
    const text = isBinary ? '<binary>' : String(data);
    all.push(text);
    const control = controlMessageOf(text);
    if (control === undefined) frames.push(text);
    else controls.push(control);
  });
  socket.on('error', () => undefined);
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before open')));
  });
  opened.catch(() => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once('close', (code, reason) => {
      openClients.delete(socket);
      resolve({ code, reason: reason.toString() });
    });
  });
  return { socket, frames, controls, all, opened, closed };
}

/** The frame as a control message (`{"event":"ws.…","data":{…}}`), or undefined. */
export function controlMessageOf(text: string): ControlMessage | undefined {
  if (!text.startsWith('{"event":"ws.')) return undefined;
  const parsed = JSON.parse(text) as ControlMessage;
  return parsed.event === controlEvents.SYNCED || parsed.event === controlEvents.RESYNC
    ? parsed
    : undefined;
}

/** Terminates every client still open (call in afterEach/afterAll). */
export function terminateClients(): void {
  for (const socket of openClients) socket.terminate();
  openClients.clear();
}

/** GET a path on the service; resolves with the status and body text. */
export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

/** The value of one sample in the service's /metrics, e.g. `huleedu_ws_connections`. */
export async function metricValue(service: ServiceProcess, series: string): Promise<number> {
  const { body } = await httpGet(service.httpUrl('/metrics'));
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`metric ${series} not found`);
  return Number(line.slice(series.length + 1));
}

/** Waits until the service reports `/readyz` 200. */
export function waitUntilReady(service: ServiceProcess, timeoutMs = 20_000): Promise<boolean> {
  return waitFor(async () => (await httpGet(service.httpUrl('/readyz'))).status === 200, {
    timeoutMs,
    message: 'the service to become ready',
  });
}

/** Open file descriptors of a process (sockets included), from /proc. */
export function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident memory of a process, MB (from /proc, as `ps -o rss` reads it). */
export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.match(/\d+/)?.[0]) / 1024;
}
