import { createRequire } from 'node:module';
import { WebSocket } from 'ws';

/** The part of ws's `Sender` used here: its RFC 6455 framing of one message (types omit it). */
interface WsSender {
  frame(
    data: Buffer,
    options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
  ): Buffer[];
}

// ws exports `Sender` at run time; @types/ws does not declare it.
const { Sender } = createRequire(import.meta.url)('ws') as { Sender: WsSender };

const TEXT = { fin: true, opcode: 0x1, mask: false, readOnly: false, rsv1: false } as const;

/**
 * One complete, unmasked text frame for `payload`, framed by ws, in a single Buffer: a server
 * frame is the same bytes for every socket, so a message fanned out to several sockets is framed
 * once and each socket costs one `write` of one buffer (ws's own `send` frames per socket and
 * writes header and payload as two buffers).
 */
export function textFrame(payload: Buffer): Buffer {
  const [header, data] = Sender.frame(payload, TEXT);
  return data === undefined
    ? header!
    : Buffer.concat([header!, data], header!.length + data.length);
}

/** An empty ping control frame (opcode 0x9, FIN): the same two bytes for every socket. */
export const PING_FRAME: Buffer = Buffer.from([0x89, 0x00]);

/** ws's `readyState` of an open socket: the only state in which frames are written. */
export const OPEN = WebSocket.OPEN;

/** The options of ws's `send` for a text frame. */
export const TEXT_FRAME = { binary: false } as const;
