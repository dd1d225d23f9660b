/**
 * What every answer carries and every request is held to, whatever route (or none) it reaches:
 * security headers, `Cache-Control: no-store` where answers hold secrets or personal data, and one
 * body size limit.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import { secureHeaders } from 'hono/secure-headers';
import { CONSOLE_PATH } from './console/guard';
import { ApiError } from './errors';

/** The ShipStation endpoint's mount point: it answers in plain text and has its own body limit. */
export const SHIPSTATION_PATH = '/shipstation';

const isShipStationPath = (path: string) => path === SHIPSTATION_PATH || path.startsWith(`${SHIPSTATION_PATH}/`);

/** The ops console's pages (api/console/): the one place this service serves HTML to browsers. */
const isConsolePath = (path: string) => path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);

/** Answers that carry API keys, passwords, order addresses: no cache (browser, proxy) may keep them. */
const isPrivatePath = (path: string) => path === '/api' || path.startsWith('/api/') || isShipStationPath(path) || isConsolePath(path);

/**
 * Apart from the ops console (its own policy below), this service serves data to programs, never
 * pages to browsers: nothing it answers may be framed, run as script, sniffed into another type or leak its URL as a referrer. Applied after the handler
 * (and the error handler) ran, so 404s, 413s and thrown errors carry them too. Content types are
 * never touched: the ShipStation endpoint's text/plain and text/xml stay as they are.
 */
export function securityHeaders(): MiddlewareHandler {
  const standard = secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
    crossOriginResourcePolicy: 'same-origin',
    // Browsers heed it only over HTTPS, which is how the service is meant to be reached (README).
    strictTransportSecurity: 'max-age=31536000; includeSubDomains',
    xContentTypeOptions: 'nosniff',
  });
  // The console's pages load their stylesheet and script from this origin, never inline, and post
  // their forms only here.
  const consolePages = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      styleSrc: ["'self'"],
      scriptSrc: ["'self'"],
      imgSrc: ["'self'"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      baseUri: ["'none'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: 'DENY',
    // Not no-referrer: under it browsers send "Origin: null" with the console's own form posts, and
    // the same-origin check (api/console/guard.ts) would refuse them all. same-origin keeps the
    // Origin on the console's own posts and still gives other sites neither Referer nor Origin.
    referrerPolicy: 'same-origin',
    crossOriginResourcePolicy: 'same-origin',
    strictTransportSecurity: 'max-age=31536000; includeSubDomains',
    xContentTypeOptions: 'nosniff',
  });
  return createMiddleware(async (c, next) => {
    await (isConsolePath(c.req.path) ? consolePages : standard)(c, next);
    if (isPrivatePath(c.req.path)) c.res.headers.set('Cache-Control', 'no-store');
  });
}

/**
 * One limit on request bodies for every route, known or not (/healthz, /metrics, /openapi.json, a
 * 404), so no path reads an unbounded body: over it is 413 with a plain reason. The ShipStation
 * endpoint is left to its own limit (SHIPNOTIFY_MAX_BYTES) and its plain-text answers.
 */
export function bodyLimitOutsideShipStation(maxBytes: number): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `the body is larger than ${maxBytes} bytes`);
    },
  });
  return createMiddleware(async (c, next) => (isShipStationPath(c.req.path) ? next() : limit(c, next)));
}
