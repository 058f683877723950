import { runInNewContext } from 'node:vm';
import { createNotificationEnvelope, createRawEnvelope } from '@huleedu/notify';
import { fencedBlocks } from '@huleedu/test-support';
import type { NotificationType, Priority } from '@huleedu/ws-protocol';

/**
 * One notification a README or doc shows, as the text frame a client would receive, or why no
 * frame could be built from it (the notifier refused the payload).
 */
export interface DocExample {
  /** `<file>:<line>` */
  source: string;
  frame?: string;
  problem?: string;
}

/**
 * The example notifications of one Markdown text, in these forms (anywhere in the text, code
 * blocks included, shell lines joined at a trailing `\`):
 * - `PUBLISH ws:teacher-1 '<json>'` / `SPUBLISH ...` (redis-cli, other languages): the JSON is
 *   the frame. A channel with a placeholder (`ws:<userId>`) marks a diagram and is skipped;
 * - `huleedu-notify ... --type <type> --data '<json>'` or `--raw-event <event>`: the envelope the
 *   CLI builds from it;
 * - `publishUserNotification('<user>', '<type>', { ... })` (TypeScript): the envelope
 *   `@huleedu/notify` builds from that object literal;
 * - a ```json block holding an object with `event`: that object.
 */
export function docExamples(file: string, markdown: string): DocExample[] {
  const examples: DocExample[] = [];
  // Join shell continuation lines, remembering where, so line numbers still match the file.
  const joins: number[] = [];
  let removed = 0;
  const text = markdown.replace(/\\\n\s*/g, (joint: string, offset: number) => {
    joins.push(offset - removed);
    removed += joint.length - 1;
    return ' ';
  });
  const lineAt = (index: number) =>
    text.slice(0, index).split('\n').length + joins.filter((join) => join < index).length;
  const add = (index: number, build: () => string) => {
    const source = `${file}:${lineAt(index)}`;
    try {
      examples.push({ source, frame: build() });
    } catch (error) {
      examples.push({ source, problem: (error as Error).message });
    }
  };

  for (const match of text.matchAll(/\bS?PUBLISH\s+(\S+)\s+'([^']*)'/g)) {
    if (!match[1]?.includes('<')) add(match.index, () => match[2] ?? '');
  }
  for (const line of text.matchAll(/huleedu-notify(?:\.js)?\s[^\n`]*/g)) {
    const command = line[0];
    const data = /--data '([^']*)'/.exec(command)?.[1];
    if (data === undefined) continue;
    const type = /--type (\S+)/.exec(command)?.[1];
    const raw = /--raw-event (\S+)/.exec(command)?.[1];
    const priority = /--priority (\S+)/.exec(command)?.[1] as Priority | undefined;
    const options = {
      ...(priority ? { priority } : {}),
      ...(/--action-required\b/.test(command) ? { actionRequired: true } : {}),
    };
    add(line.index, () =>
      JSON.stringify(
        type !== undefined
          ? createNotificationEnvelope(type as NotificationType, JSON.parse(data), options)
          : createRawEnvelope(raw ?? '', JSON.parse(data)),
      ),
    );
  }
  for (const call of text.matchAll(/publishUserNotification\(\s*'[^']*',\s*'([^']+)',\s*\{/g)) {
    const start = call.index + call[0].length - 1;
    add(call.index, () => {
      const literal = objectLiteralAt(text, start);
      const payload = runInNewContext(`(${literal})`, {});
      return JSON.stringify(createNotificationEnvelope(call[1] as NotificationType, payload));
    });
  }
  for (const block of fencedBlocks(markdown)) {
    if (block.lang !== 'json') continue;
    const value: unknown = JSON.parse(block.code);
    if (typeof value === 'object' && value !== null && 'event' in value) {
      examples.push({ source: `${file}:${block.line}`, frame: JSON.stringify(value) });
    }
  }
  return examples;
}

/** The `{ ... }` that starts at `start`, braces balanced (strings in examples hold no braces). */
function objectLiteralAt(text: string, start: number): string {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  throw new Error('unbalanced braces in the example');
}
