/**
 * What every console request passes before its page: a live session (else back to sign in), and for
 * a form post, the same origin as PUBLIC_BASE_URL and the session's form token (else 403). Pages
 * and actions then find the session and the outcome of the last action in the context.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { clearFlash, findConsoleSession, type Flash } from '../../db/console-sessions';
import type { ConsoleSessionRow } from '../../db/schema';
import { secretsEqual } from '../auth';
import type { RouteServices } from '../services';

export type ConsoleEnv = { Variables: { session: ConsoleSessionRow; flash: Flash | null } };

export const CONSOLE_PATH = '/ops';
const SESSION_COOKIE = 'ops_session';
/** The hidden field every console form carries. */
export const FORM_TOKEN_FIELD = '_form';

/** Pages anyone may load: the sign-in form and the console's own stylesheet and script. */
const isOpen = (path: string) => path === `${CONSOLE_PATH}/sign-in` || path.startsWith(`${CONSOLE_PATH}/assets/`);

const OWN_PAGE = new RegExp(`^${CONSOLE_PATH}(?:[/?#]|$)`);

/** Where the console may send a browser back to: its own pages only, never another site. */
export function consolePath(candidate: string | undefined | null, fallback = CONSOLE_PATH): string {
  return candidate && OWN_PAGE.test(candidate) && !candidate.includes('\\') ? candidate : fallback;
}

export interface SessionCookieSettings {
  /** PUBLIC_BASE_URL: its origin is the only one whose forms are accepted; https makes the cookie Secure. */
  publicBaseUrl: string;
  sessionTtlMs: number;
}

export function setSessionCookie(c: Context, settings: SessionCookieSettings, token: string) {
  setCookie(c, SESSION_COOKIE, token, {
    path: CONSOLE_PATH,
    httpOnly: true,
    sameSite: 'Strict',
    secure: settings.publicBaseUrl.startsWith('https:'),
    maxAge: Math.floor(settings.sessionTtlMs / 1000),
  });
}

export const sessionToken = (c: Context) => getCookie(c, SESSION_COOKIE) ?? null;
export const clearSessionCookie = (c: Context) => deleteCookie(c, SESSION_COOKIE, { path: CONSOLE_PATH });

/**
 * A form post must come from the console's own origin. Browsers send Origin with every POST; without
 * it, Sec-Fetch-Site says the same. A client that sends neither is not a browser, and still needs the
 * session's form token (all but sign-in).
 */
function fromOwnOrigin(c: Context, origin: string): boolean {
  const given = c.req.header('Origin');
  if (given !== undefined) return given === origin;
  const site = c.req.header('Sec-Fetch-Site');
  return site === undefined || site === 'same-origin' || site === 'none';
}

export function consoleGuard(services: Pick<RouteServices, 'db'>, settings: SessionCookieSettings, refuse: (c: Context, status: 403, reason: string) => Response | Promise<Response>) {
  const origin = new URL(settings.publicBaseUrl).origin;
  return createMiddleware<ConsoleEnv>(async (c, next) => {
    const posted = c.req.method === 'POST';
    if (posted && !fromOwnOrigin(c, origin)) {
      return refuse(c, 403, `this form was sent from ${c.req.header('Origin') ?? 'another site'}, not from the console at ${origin}; nothing changed`);
    }
    if (isOpen(c.req.path)) return next();

    const token = sessionToken(c);
    const session = token ? await findConsoleSession(services.db, token) : null;
    if (!session) {
      if (token) clearSessionCookie(c);
      const query = new URLSearchParams();
      if (token) query.set('ended', '1');
      if (c.req.method === 'GET' && c.req.path !== CONSOLE_PATH) query.set('next', c.req.path + new URL(c.req.url).search);
      return c.redirect(`${CONSOLE_PATH}/sign-in${query.size ? `?${query}` : ''}`, 303);
    }
    if (posted) {
      const body = await c.req.parseBody();
      const given = body[FORM_TOKEN_FIELD];
      if (typeof given !== 'string' || !secretsEqual(given, session.formToken)) {
        return refuse(c, 403, 'this form is not one the console gave you (its form token is missing or belongs to another session); reload the page and try again');
      }
    }
    c.set('session', session);
    c.set('flash', session.flash ?? null);
    if (session.flash && !posted) await clearFlash(services.db, session);
    await next();
  });
}
