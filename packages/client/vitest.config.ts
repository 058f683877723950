import { nodeAndBrowserConfig } from '@huleedu/test-support/vitest';

// Node tests against in-test sockets and the real service, then the Chromium tests.
export default nodeAndBrowserConfig();
