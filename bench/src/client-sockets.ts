import { io, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import WebSocket from 'ws';
import { readSentAt, readSentAtFromObject } from './message.js';
import { type ControlMessage, readControl, readPositioned } from './resume-tracking.js';

/** What a load-generator socket reports; each callback fires at most as documented. */
export interface ClientHandlers {
  /** The socket is open and authenticated (fires at most once). */
  onOpen(): void;
  /** The socket never opened (fires at most once, instead of onOpen). */
  onFail(reason: string): void;
  /** A bench notification arrived; `sentAt` is the publisher's wall-clock ms. */
  onNotification(sentAt: number): void;
  /** A positioned message arrived (plain WebSocket targets with history; before onNotification). */
  onPositioned(position: number, epoch: string): void;
  /** The service sent `ws.synced` or `ws.resync`. */
  onControl(control: ControlMessage): void;
  /** An open socket closed (fires at most once, after onOpen). */
  onClose(reason: string): void;
}

/** One client connection, whatever the protocol. */
export interface ClientSocket {
  /** Drops the connection at once, without firing onClose. */
  destroy(): void;
  /**
   * Closes the connection from the client side (the protocol's closing handshake), without
   * firing onClose. Resolves true once the connection is gone, or false when it was not within
   * `timeoutMs` and was dropped instead.
   */
  close(timeoutMs: number): Promise<boolean>;
}

/**
 * Runs `start` (which begins closing `ws`) and resolves true on the `close` event (the TCP
 * connection is gone), or terminates `ws` and resolves false after `timeoutMs`.
 */
function closeWithin(ws: WebSocket, start: () => void, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) {
      start();
      resolve(true);
      return;
    }
    const timer = setTimeout(() => {
      ws.terminate();
      resolve(false);
    }, timeoutMs);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    start();
  });
}

/** Where and how to connect. */
export interface ClientTarget {
  protocol: 'ws' | 'socketio';
  url: string;
  token: string;
  /** Appended to the query string after the token (`&position=..&epoch=..` to resume). */
  query?: string;
  localAddress: string;
  timeoutMs: number;
}

/**
 * Opens one client socket. Plain WebSocket targets get the token in the query string (the
 * service's contract); Socket.IO gets it in the handshake `auth`, WebSocket transport only.
 */
export function openClientSocket(target: ClientTarget, handlers: ClientHandlers): ClientSocket {
  return target.protocol === 'ws' ? openWs(target, handlers) : openSocketIo(target, handlers);
}

type State = 'connecting' | 'open' | 'done';

function openWs(target: ClientTarget, handlers: ClientHandlers): ClientSocket {
  let state: State = 'connecting';
  const query = `token=${encodeURIComponent(target.token)}${target.query ?? ''}`;
  const ws = new WebSocket(`${target.url}?${query}`, {
    localAddress: target.localAddress,
    perMessageDeflate: false,
    handshakeTimeout: target.timeoutMs,
  });
  const fail = (reason: string): void => {
    if (state !== 'connecting') return;
    state = 'done';
    handlers.onFail(reason);
  };
  ws.on('open', () => {
    if (state !== 'connecting') return;
    state = 'open';
    handlers.onOpen();
  });
  ws.on('unexpected-response', (request, response) => {
    fail(`http_${response.statusCode ?? 0}`);
    request.destroy();
  });
  ws.on('error', (error: NodeJS.ErrnoException) => {
    fail(error.code ?? (error.message.includes('timed out') ? 'timeout' : error.message));
  });
  ws.on('close', (code) => {
    if (state === 'connecting') return fail(`close_${code}`);
    if (state !== 'open') return;
    state = 'done';
    handlers.onClose(String(code));
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) return;
    const positioned = readPositioned(data);
    if (positioned) handlers.onPositioned(positioned.position, positioned.epoch);
    const sentAt = readSentAt(data);
    if (sentAt !== undefined) handlers.onNotification(sentAt);
    else if (!positioned) {
      const control = readControl(data);
      if (control) handlers.onControl(control);
    }
  });
  return {
    destroy() {
      state = 'done';
      ws.terminate();
    },
    close(timeoutMs) {
      state = 'done';
      return closeWithin(ws, () => ws.close(1000), timeoutMs);
    },
  };
}

function openSocketIo(target: ClientTarget, handlers: ClientHandlers): ClientSocket {
  let state: State = 'connecting';
  // localAddress is passed through to the ws transport in Node; the typings do not list it.
  const options: Partial<ManagerOptions & SocketOptions> & { localAddress: string } = {
    transports: ['websocket'],
    auth: { token: target.token },
    forceNew: true,
    reconnection: false,
    timeout: target.timeoutMs,
    localAddress: target.localAddress,
  };
  const socket = io(target.url, options);
  socket.on('connect', () => {
    if (state !== 'connecting') return;
    state = 'open';
    handlers.onOpen();
  });
  socket.on('connect_error', (error) => {
    if (state !== 'connecting') return;
    state = 'done';
    socket.close();
    handlers.onFail(error.message);
  });
  socket.on('disconnect', (reason) => {
    if (state !== 'open') return;
    state = 'done';
    handlers.onClose(reason);
  });
  socket.on('notification', (envelope: unknown) => {
    const sentAt = readSentAtFromObject(envelope);
    if (sentAt !== undefined) handlers.onNotification(sentAt);
  });
  return {
    destroy() {
      state = 'done';
      socket.close();
    },
    close(timeoutMs) {
      state = 'done';
      // The engine lets go of its transport's WebSocket (a `ws` one in Node) as it closes it, so
      // it is taken first: its `close` event is the connection really gone.
      const transport = socket.io.engine?.transport as { ws?: WebSocket | null } | undefined;
      const raw = transport?.ws;
      if (!raw) {
        socket.disconnect();
        return Promise.resolve(true);
      }
      return closeWithin(raw, () => socket.disconnect(), timeoutMs);
    },
  };
}
