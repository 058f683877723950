import { runCommand } from './command.js';

// Entry point of the `huleedu-notify` binary (bin/huleedu-notify.js imports this module).
const code = await runCommand(process.argv.slice(2), process.env, {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
});

// Exit explicitly once both streams are flushed: after a connection that never opened, ioredis
// keeps a 2 s timer alive, and a one-shot command should not wait for it.
const flushed = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
