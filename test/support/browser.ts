/**
 * A real browser for the web page's tests and the docs' screenshots: Debian's headless
 * Chromium (/usr/bin/chromium) driven by playwright-core, started *inside* a lab host's network
 * namespace (through a two-line wrapper that `ip netns exec`s it), so it reaches that host's
 * status listener on 127.0.0.1 exactly as an operator's browser on the host would, and nothing
 * else: no uplink, no internet. A fresh profile (--user-data-dir) per browser, removed by
 * close(). Root only (ip netns exec).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why a browser test cannot run here (null: it can). */
export function browserMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} missing (scripts/setup-system.sh installs Debian's chromium)`;
}

/** The flags the project runs Chromium with: headless, no sandbox (root), no network of its own. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** A browser in a namespace: its one context and page, and `close()` (idempotent, never throws). */
export interface NsBrowser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/**
 * Launch Chromium inside network namespace `ns` (a name under /run/netns). `dir` holds the
 * wrapper and the fresh profile (both removed by close()). `viewport` defaults to 1400×1000.
 */
export async function browserInNetns(ns: string, dir: string, viewport = { width: 1400, height: 1000 }): Promise<NsBrowser> {
  const work = mkdtempSync(join(dir, 'chromium-'));
  const wrapper = join(work, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec '${ns.replace(/'/g, '')}' ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o700);
  const profile = join(work, 'profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: wrapper, headless: true, args: CHROMIUM_ARGS, viewport, timeout: 60_000,
    chromiumSandbox: false, offline: false,
  });
  const page = context.pages()[0] ?? await context.newPage();
  let closed = false;
  return {
    context, page,
    close: async () => {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    },
  };
}
