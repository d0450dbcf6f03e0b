import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Debian's chromium package, installed by `npm test`'s set-up (`sandboxd setup --for-tests`). */
export const chromiumPath = '/usr/bin/chromium';

export interface TestBrowser {
  context: BrowserContext;
  /** Closes the browser and removes its profile; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Headless Chromium with a fresh profile and nothing that reaches beyond loopback (no updates,
 * sync, QUIC or background fetches). Playwright drives the system binary: no browser download.
 */
export async function launchChromium(): Promise<TestBrowser> {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: run \`npm test\` (its set-up installs Debian's chromium package)`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    context,
    close() {
      closed ??= context.close().finally(() => fs.rmSync(profile, { recursive: true, force: true }));
      return closed;
    },
  };
}
