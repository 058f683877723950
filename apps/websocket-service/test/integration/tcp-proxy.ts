import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A TCP proxy on loopback whose connections a test can cut, like a network failure. */
export interface TcpProxy {
  /** The port clients connect to. */
  readonly port: number;
  /** Connections currently relayed. */
  readonly openConnections: number;
  /**
   * Resets every relayed connection on both sides (TCP RST, no WebSocket close frame), as a
   * dropped network path does; resolves with how many were cut. New connections are accepted.
   */
  cut(): number;
  /** Cuts everything and stops listening. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 that relays each accepted connection to the port `upstream()`
 * names at that moment (undefined: nothing to relay to, the connection is reset at once), so it
 * can follow a service that restarts on another port.
 */
export function startTcpProxy(upstream: () => number | undefined): Promise<TcpProxy> {
  const pairs = new Set<readonly [Socket, Socket]>();
  const server: Server = createServer((downstream) => {
    const port = upstream();
    downstream.on('error', () => undefined);
    if (port === undefined) {
      downstream.resetAndDestroy();
      return;
    }
    const upstreamSocket = createConnection({ port, host: '127.0.0.1' });
    upstreamSocket.on('error', () => undefined);
    const pair = [downstream, upstreamSocket] as const;
    pairs.add(pair);
    // Either side ending ends the pair: a half-open relay would hide the failure under test.
    const end = (): void => {
      pairs.delete(pair);
      downstream.destroy();
      upstreamSocket.destroy();
    };
    downstream.once('close', end);
    upstreamSocket.once('close', end);
    downstream.pipe(upstreamSocket);
    upstreamSocket.pipe(downstream);
  });

  const cut = (): number => {
    const count = pairs.size;
    for (const [downstream, upstreamSocket] of pairs) {
      downstream.resetAndDestroy();
      upstreamSocket.resetAndDestroy();
    }
    pairs.clear();
    return count;
  };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      let closed: Promise<void> | undefined;
      resolve({
        port,
        get openConnections() {
          return pairs.size;
        },
        cut,
        close: () => {
          closed ??= new Promise<void>((done) => {
            cut();
            server.close(() => done());
          });
          return closed;
        },
      });
    });
  });
}
