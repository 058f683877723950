import { fileURLToPath } from 'node:url';

/** The demo's entry point, as README tells people to run it (started with test-support's starter). */
export const demoServerScript = fileURLToPath(new URL('../../dist/server.js', import.meta.url));
