import { nodeAndBrowserConfig } from '@huleedu/test-support/vitest';

// Node tests against in-test sockets and the real service (and tsc over test/*.test-d.ts: a hook
// call that should not compile but does fails), then the Chromium tests.
export default nodeAndBrowserConfig({ typecheck: true });
