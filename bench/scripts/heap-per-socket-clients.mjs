// Child of heap-per-socket.mjs: opens the sockets one after another and holds them.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const [url, count, tokensFile] = process.argv.slice(2);
const tokens = JSON.parse(readFileSync(tokensFile, 'utf8'));
const held = [];
let open = 0;
for (let i = 0; i < Number(count); i++) {
  await new Promise((resolve) => {
    const socket = new WebSocket(`${url}?token=${tokens[i % tokens.length]}`);
    socket.once('open', () => {
      open++;
      resolve();
    });
    socket.once('error', resolve);
    held.push(socket);
  });
}
process.send({ open });
process.once('message', () => {
  for (const socket of held) socket.terminate();
  process.exit(0);
});
