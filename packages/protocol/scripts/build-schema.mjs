// Writes schema/notifications.schema.json from the built zod schemas (run `pnpm build` first).
// The file is committed; test/json-schema.test.ts fails while it differs from what this writes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_FILE, protocolJsonSchemaText } from '../dist/json-schema.js';

const file = resolve(fileURLToPath(new URL('..', import.meta.url)), JSON_SCHEMA_FILE);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, protocolJsonSchemaText());
console.log(`wrote ${file}`);
