import { describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium } from '../src/index.js';

describe('chromiumPath', () => {
  it('is CHROMIUM_PATH when set, else /usr/bin/chromium', () => {
    expect(chromiumPath({ CHROMIUM_PATH: '/opt/chromium/chrome' })).toBe('/opt/chromium/chrome');
    expect(chromiumPath({})).toBe('/usr/bin/chromium');
  });
});

describe('launchChromium', () => {
  it('names the path and the variable when no browser is there', async () => {
    const saved = process.env.CHROMIUM_PATH;
    process.env.CHROMIUM_PATH = '/nonexistent/chromium';
    try {
      await expect(launchChromium()).rejects.toThrow(
        'Chromium not found at /nonexistent/chromium: install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH',
      );
    } finally {
      if (saved === undefined) delete process.env.CHROMIUM_PATH;
      else process.env.CHROMIUM_PATH = saved;
    }
  });
});
