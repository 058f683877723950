import { nodeAndBrowserConfig } from '@huleedu/test-support/vitest';

// Node tests of config and API, then the Chromium test of the whole demo.
export default nodeAndBrowserConfig();
