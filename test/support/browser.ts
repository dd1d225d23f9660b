/**
 * A real browser for the console's tests and its screenshots: Debian's chromium (apt package
 * `chromium`, or CHROMIUM_PATH) driven by playwright-core, which never downloads a browser of its own.
 * In CI a missing chromium fails the tests (.ci/run installs it); elsewhere they are skipped with a
 * warning. Also: serving an app over real HTTP on 127.0.0.1, with PUBLIC_BASE_URL its own origin.
 */
import { accessSync, constants } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Browser } from 'playwright-core';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for a closed network: without the background-networking ones chromium keeps calling home
 * (component updates, sync, QUIC probes) and some networks refuse those connections loudly.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** The chromium to drive, or null when there is none (CHROMIUM_PATH, else /usr/bin/chromium). */
export function findChromium(env: Record<string, string | undefined> = process.env): string | null {
  const file = env.CHROMIUM_PATH?.trim() || DEFAULT_CHROMIUM_PATH;
  try {
    accessSync(file, constants.X_OK);
    return file;
  } catch {
    return null;
  }
}

export type BrowserAvailability = { available: true; executablePath: string } | { available: false; reason: string };

/**
 * Whether the browser tests can run. In CI (CI set) a missing chromium throws: CI must have it. Else
 * the caller skips its tests, and this warns once so the skip is not silent.
 */
export function browserAvailability(env: Record<string, string | undefined> = process.env): BrowserAvailability {
  const executablePath = findChromium(env);
  if (executablePath) return { available: true, executablePath };
  const where = env.CHROMIUM_PATH?.trim() || DEFAULT_CHROMIUM_PATH;
  const reason = `no chromium at ${where} (install Debian's package: apt-get install chromium, or set CHROMIUM_PATH)`;
  if (env.CI) throw new Error(`The browser tests need chromium in CI, but there is ${reason}. .ci/run installs it with apt-get.`);
  console.warn(`\n!! ${reason}; the browser tests are SKIPPED.\n`);
  return { available: false, reason };
}

/** Launches chromium headless with a fresh profile (playwright-core makes a temporary user-data-dir). */
export async function launchBrowser(executablePath = findChromium()): Promise<Browser> {
  if (!executablePath) throw new Error(`no chromium at ${process.env.CHROMIUM_PATH?.trim() || DEFAULT_CHROMIUM_PATH}`);
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** Anything with Hono's fetch signature (the env carries the Node request, for the client's address). */
export type FetchHandler = (request: Request, env: any) => Response | Promise<Response>;

export interface ServedApp<T> {
  /** http://127.0.0.1:<port>, no trailing slash. */
  origin: string;
  port: number;
  /** What `create` returned for this origin. */
  app: T;
  close(): Promise<void>;
}

/**
 * Serves an app on 127.0.0.1 on a free port. The app is created once the port is known, so it can
 * take that origin as its PUBLIC_BASE_URL (the console refuses form posts from any other origin).
 */
export async function serveApp<T extends { fetch: FetchHandler }>(create: (origin: string) => T): Promise<ServedApp<T>> {
  let app: T | null = null;
  let server: ServerType;
  const port = await new Promise<number>((resolve, reject) => {
    server = serve(
      {
        fetch: (request, env) => (app ? app.fetch(request, env) : new Response('starting', { status: 503 })),
        port: 0,
        hostname: '127.0.0.1',
      },
      (info: AddressInfo) => resolve(info.port),
    );
    server.once('error', reject);
  });
  const origin = `http://127.0.0.1:${port}`;
  app = create(origin);
  return {
    origin,
    port,
    app,
    close: () =>
      new Promise<void>((resolve) => {
        // Keep-alive connections from the browser would hold close() open.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** Serves fixed HTML pages (by path) from another origin: a "different site" for cross-site posts. */
export async function serveHtml(pages: Record<string, string>): Promise<ServedApp<null>> {
  const served = await serveApp(() => ({
    fetch: (request: Request) => {
      const body = pages[new URL(request.url).pathname];
      return body === undefined
        ? new Response('not found', { status: 404 })
        : new Response(body, { headers: { 'Content-Type': 'text/html; charset=utf-8' } });
    },
  }));
  return { ...served, app: null };
}
