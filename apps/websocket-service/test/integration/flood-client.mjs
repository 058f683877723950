// One attacking client process for the connection-flood test (connection-flood.test.ts), forked
// with an IPC channel so that the test runner never holds the attack's descriptors itself.
//
// argv[2] is a JSON object:
// - { mode: 'idle', port, addresses, connections, maxAttempts }: keeps `connections` TCP
//   connections open that send nothing and never close their side (allowHalfOpen), spread over
//   the local `addresses`; each one the service ends is replaced at once, as an attacker would,
//   until `maxAttempts` connections were attempted.
// - { mode: 'handshakes', port, address, perSecond, maxAttempts }: WebSocket handshakes with
//   valid tokens (sent as the first IPC message, one per attempt), paced at `perSecond`, from one
//   address; admitted sockets are held open.
// - { mode: 'refused', port, addresses, token, perSecond, durationMs, maxAttempts }: WebSocket handshakes
//   with the invalid `token`, paced at `perSecond` from each of the local `addresses` for `durationMs`; each
//   upgraded socket never answers the close frame and never closes its side, so the service
//   alone decides how long it keeps the socket. The final report adds `keptMs` (p50, max, count):
//   from the 101 answer until the service closed the connection.
// It reports its counts on IPC every 250 ms and once more, with `final: true`, after `stop`.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

const config = JSON.parse(process.argv[2] ?? '{}');
const stats = {
  attempted: 0,
  established: 0,
  open: 0,
  peakOpen: 0,
  /** Answered 408 (request timeout) and closed by the service. */
  answered408: 0,
  /** Closed by the service without an answer (the TCP cap made room). */
  closedWithoutAnswer: 0,
  /** Connect errors and resets, by code. */
  errors: {},
  /** Handshake answers by status (and refusal reason). */
  statuses: {},
};
/** @type {Set<import('node:net').Socket>} */
const sockets = new Set();
let stopping = false;

function countError(code) {
  stats.errors[code] = (stats.errors[code] ?? 0) + 1;
}

/** One idle connection on `address`; replaced when the service ends it. */
function openIdle(address) {
  if (stopping || stats.attempted >= config.maxAttempts) return;
  stats.attempted++;
  const socket = connect({
    port: config.port,
    host: '127.0.0.1',
    localAddress: address,
    allowHalfOpen: true,
  });
  sockets.add(socket);
  let connected = false;
  let answer = '';
  socket.on('connect', () => {
    connected = true;
    stats.established++;
    stats.open++;
    stats.peakOpen = Math.max(stats.peakOpen, stats.open);
  });
  socket.on('data', (chunk) => {
    if (answer.length < 16) answer += chunk.toString('latin1');
  });
  socket.on('error', (error) => countError(error.code ?? 'error'));
  const gone = () => {
    if (!sockets.delete(socket)) return;
    if (connected) stats.open--;
    if (answer.startsWith('HTTP/1.1 408')) stats.answered408++;
    else if (connected) stats.closedWithoutAnswer++;
    socket.destroy();
    if (!stopping) setImmediate(() => openIdle(address));
  };
  // The service's FIN (after a 408, or a close without answer): replace the connection.
  socket.on('end', gone);
  socket.on('close', gone);
}

/** The HTTP request of a WebSocket handshake with `token` in the query string. */
function handshakeRequest(token) {
  return (
    `GET /ws?token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n` +
    'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`
  );
}

/** One WebSocket handshake with `token` from `address`; an admitted socket is held open. */
function handshake(token) {
  stats.attempted++;
  const socket = connect({ port: config.port, host: '127.0.0.1', localAddress: config.address });
  sockets.add(socket);
  let head = '';
  socket.on('connect', () => {
    stats.established++;
    socket.write(handshakeRequest(token));
  });
  socket.on('data', (chunk) => {
    if (head.includes('\r\n\r\n')) return;
    head += chunk.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    const status = head.slice(9, 12);
    const reason = /"error":"([a-z_]+)"/.exec(head)?.[1];
    const key = reason === undefined ? status : `${status} ${reason}`;
    stats.statuses[key] = (stats.statuses[key] ?? 0) + 1;
    if (status === '101') {
      stats.open++;
      stats.peakOpen = Math.max(stats.peakOpen, stats.open);
    }
  });
  socket.on('error', (error) => countError(error.code ?? 'error'));
  socket.on('close', () => {
    if (sockets.delete(socket) && head.startsWith('HTTP/1.1 101')) stats.open--;
  });
}

/** Milliseconds from a refused socket's 101 answer until the service closed the connection. */
const kept = [];

/** One refused handshake from `address`: reads the answer, never answers the close frame. */
function refusedHandshake(address) {
  stats.attempted++;
  const socket = connect({
    port: config.port,
    host: '127.0.0.1',
    localAddress: address,
    allowHalfOpen: true,
  });
  sockets.add(socket);
  let head = '';
  let upgradedAt;
  socket.on('connect', () => {
    stats.established++;
    stats.open++;
    stats.peakOpen = Math.max(stats.peakOpen, stats.open);
    socket.write(handshakeRequest(config.token));
  });
  socket.on('data', (chunk) => {
    if (head.includes('\r\n\r\n')) return;
    head += chunk.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    const status = head.slice(9, 12);
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
    if (status === '101') upgradedAt = performance.now();
  });
  socket.on('error', (error) => countError(error.code ?? 'error'));
  const gone = () => {
    if (!sockets.delete(socket)) return;
    stats.open--;
    if (upgradedAt !== undefined && !stopping) kept.push(performance.now() - upgradedAt);
    socket.destroy();
  };
  // The service's FIN or reset: it let the socket go.
  socket.on('end', gone);
  socket.on('close', gone);
}

function keptSummary() {
  const sorted = kept.slice().sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
    max: Math.round(sorted.at(-1) ?? 0),
  };
}

const reporter = setInterval(() => process.send?.({ ...stats }), 250);

process.on('message', (message) => {
  if (message === 'stop') {
    stopping = true;
    clearInterval(reporter);
    for (const socket of sockets) socket.destroy();
    process.send?.({ ...stats, keptMs: keptSummary(), final: true }, () => process.exit(0));
    return;
  }
  if (message?.tokens !== undefined) {
    // Paced: one batch per 50 ms tick.
    const tokens = message.tokens.slice(0, config.maxAttempts);
    const perTick = Math.max(1, Math.round(config.perSecond / 20));
    const pacer = setInterval(() => {
      if (stopping || tokens.length === 0) {
        clearInterval(pacer);
        return;
      }
      for (const token of tokens.splice(0, perTick)) handshake(token);
    }, 50);
  }
});

if (config.mode === 'idle') {
  for (let i = 0; i < config.connections; i++)
    openIdle(config.addresses[i % config.addresses.length]);
}

if (config.mode === 'refused') {
  // Paced: one batch per address per 50 ms tick.
  const perTick = Math.max(1, Math.round(config.perSecond / 20));
  const until = performance.now() + config.durationMs;
  const pacer = setInterval(() => {
    if (stopping || stats.attempted >= config.maxAttempts || performance.now() > until) {
      clearInterval(pacer);
      return;
    }
    for (const address of config.addresses) {
      for (let i = 0; i < perTick; i++) refusedHandshake(address);
    }
  }, 50);
}
