import { once } from 'node:events';
import { createServer, type Server, Socket } from 'node:net';
import { waitFor } from '@huleedu/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { RESPONSE_HOLD_MAX_MS, ResponseHold, release } from '../src/history/response-hold.js';

// A held connection against a real loopback TCP pair: what the peer receives, and when.

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  server?.close();
  server = undefined;
});

/** A connected pair: the side the service writes to, and what its peer has received so far. */
async function pair(): Promise<{ sender: Socket; received: string[] }> {
  server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection');
  const peer = new Socket();
  peer.connect(port, '127.0.0.1');
  const [sender] = (await accepted) as [Socket];
  sockets.push(sender, peer);
  const received: string[] = [];
  peer.on('data', (chunk: Buffer) => received.push(chunk.toString()));
  return { sender, received };
}

/** Lets the event loop run I/O a few times. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('ResponseHold', () => {
  it('keeps writes back until released, then sends them together', async () => {
    const { sender, received } = await pair();
    const hold = new ResponseHold();
    hold.hold(sender);
    sender.write('HTTP/1.1 101\r\n\r\n');
    sender.write('frame');
    await turns(5);
    expect(received).toEqual([]);
    release(sender);
    await waitFor(() => received.join('') === 'HTTP/1.1 101\r\n\r\nframe');
    expect(received).toHaveLength(1);
    hold.releaseAll();
  });

  it(`lets a connection go by itself (after ${RESPONSE_HOLD_MAX_MS} ms) when nothing releases it`, async () => {
    const { sender, received } = await pair();
    const hold = new ResponseHold();
    hold.hold(sender);
    sender.write('HTTP/1.1 101\r\n\r\n');
    await turns(5);
    expect(received).toEqual([]);
    await waitFor(() => received.join('') === 'HTTP/1.1 101\r\n\r\n', { timeoutMs: 2000 });
    // Released once: later writes go out at once.
    sender.write('live');
    await waitFor(() => received.join('').endsWith('live'));
  });

  it('releases only connections it held, once', async () => {
    const { sender, received } = await pair();
    release(sender);
    release(undefined);
    sender.write('plain');
    await waitFor(() => received.join('') === 'plain');
    const hold = new ResponseHold();
    hold.hold(sender);
    release(sender);
    release(sender);
    expect(sender.writableCorked).toBe(0);
    hold.releaseAll();
    expect(sender.writableCorked).toBe(0);
  });
});
