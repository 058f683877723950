import { existsSync } from 'node:fs';
import type { Browser, LaunchOptions } from 'playwright-core';

/**
 * Flags for a quiet, headless, loopback-only Chromium: no sandbox (containers), no GPU, no
 * background traffic, updates, sync or first-run screens, and no QUIC, so every connection is the
 * TCP one the tests watch.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The Chromium the tests run: `CHROMIUM_PATH` when set, else Debian's `/usr/bin/chromium`. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CHROMIUM_PATH || '/usr/bin/chromium';
}

/**
 * Launches the installed Chromium ({@link chromiumPath}; a browser is never downloaded) with
 * {@link CHROMIUM_ARGS}. Throws a clear error when it is not there. playwright-core is loaded
 * here, on first use, so that tests without a browser do not pay for loading it.
 */
export async function launchChromium(
  options: Omit<LaunchOptions, 'executablePath'> = {},
): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    ...options,
    executablePath,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
}
