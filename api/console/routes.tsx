/**
 * The ops console at /ops: server-rendered pages for the people who keep orders flowing (overview,
 * orders, one order, bulk retry, connections, merchants), behind a sign-in with the admin token.
 * This file holds sign-in and sign-out, the assets, and what every page shares (guard, errors,
 * 404); each section's pages are a router of their own in pages/.
 */
import { Hono } from 'hono';
import { createConsoleSession, endConsoleSession } from '../../db/console-sessions';
import { cleanRequesterName, MAX_REQUESTER_NAME } from '../../domain/requester';
import { secretsEqual } from '../auth';
import { ADMIN_IDENTITY } from '../credential-throttle';
import { toApiError } from '../errors';
import type { RouteServices } from '../services';
import { CONSOLE_CSS, CONSOLE_JS } from './assets';
import { clearSessionCookie, consoleGuard, consolePath, CONSOLE_PATH, sessionToken, setSessionCookie, type ConsoleEnv } from './guard';
import { Page, render } from './layout';
import { bulkRetryPages } from './pages/bulk-retry';
import { connectionPages } from './pages/connections';
import { merchantPages } from './pages/merchants';
import { orderPages } from './pages/orders';
import { overviewPages } from './pages/overview';

/** The console's settings (config: CONSOLE_SESSION_TTL, SHIPSTATION_POLL_WARNING). */
export interface ConsoleSettings {
  sessionTtlMs: number;
  /** A connection ShipStation has not polled for longer than this is flagged on the overview. */
  pollWarningMs: number;
}

export const DEFAULT_CONSOLE_SETTINGS: ConsoleSettings = { sessionTtlMs: 8 * 3_600_000, pollWarningMs: 2 * 3_600_000 };

const asset = (body: string, type: string) => () =>
  new Response(body, { headers: { 'Content-Type': `${type}; charset=utf-8`, 'Cache-Control': 'no-cache' } });

export function consoleRoutes(services: RouteServices) {
  const { db, throttle, logger } = services;
  const cookieSettings = { publicBaseUrl: services.shipstation.publicBaseUrl, sessionTtlMs: services.console.sessionTtlMs };
  const app = new Hono<ConsoleEnv>();

  app.use(
    '*',
    consoleGuard(services, cookieSettings, (c, status, reason) =>
      render(c, <Page title="Refused" session={null} flash={{ kind: 'alert', text: reason }} />, status),
    ),
  );
  app.get('/assets/console.css', asset(CONSOLE_CSS, 'text/css'));
  app.get('/assets/console.js', asset(CONSOLE_JS, 'text/javascript'));

  const signInPage = (flash: { kind: 'status' | 'alert'; text: string } | null, next: string) => (
    <Page title="Sign in" session={null} flash={flash}>
      <form method="post" action={`${CONSOLE_PATH}/sign-in`} class="card sign-in">
        <input type="hidden" name="next" value={next} />
        <label class="field">
          <span>Admin token</span>
          <input type="password" name="token" required autocomplete="current-password" />
        </label>
        <label class="field">
          <span>Your name (optional)</span>
          <input type="text" name="name" maxlength={MAX_REQUESTER_NAME} autocomplete="name" />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">
        The name is shown on the orders you change ("retried from the console by Ana"). Everyone signs in with the same admin token, so it tells colleagues apart; it does not prove who they are.
      </p>
    </Page>
  );

  app.get('/sign-in', (c) => {
    const ended = c.req.query('ended') === '1';
    const out = c.req.query('out') === '1';
    const flash = ended
      ? ({ kind: 'alert', text: 'Your session has ended; sign in again.' } as const)
      : out
        ? ({ kind: 'status', text: 'Signed out.' } as const)
        : null;
    return render(c, signInPage(flash, consolePath(c.req.query('next'))));
  });

  app.post('/sign-in', async (c) => {
    const body = await c.req.parseBody();
    const next = consolePath(typeof body.next === 'string' ? body.next : null);
    const token = typeof body.token === 'string' ? body.token.trim() : '';
    const refuse = (text: string, status: 401 | 403 | 429) => render(c, signInPage({ kind: 'alert', text }, next), status);
    if (!services.adminToken) return refuse('The console is disabled: ADMIN_TOKEN is not set on this server.', 403);
    if (!secretsEqual(token, services.adminToken)) {
      // The same counters as the admin API's bearer token: one limit for guessing it either way.
      const verdict = await throttle.failed(throttle.pairFor(c, ADMIN_IDENTITY), 'admin');
      if (verdict.throttled) return refuse(`Too many failed sign-ins from this address; try again in ${verdict.retryAfterSeconds} s.`, 429);
      return refuse('The admin token is wrong.', 401);
    }
    const name = cleanRequesterName(typeof body.name === 'string' ? body.name : null);
    const session = await createConsoleSession(db, { name, ttlMs: cookieSettings.sessionTtlMs });
    setSessionCookie(c, cookieSettings, session.token);
    logger.info({ consoleUser: name }, 'console sign-in');
    return c.redirect(next, 303);
  });

  app.post('/sign-out', async (c) => {
    const token = sessionToken(c);
    if (token) await endConsoleSession(db, token);
    clearSessionCookie(c);
    return c.redirect(`${CONSOLE_PATH}/sign-in?out=1`, 303);
  });

  app.route('/', overviewPages(services));
  app.route('/', orderPages(services));
  app.route('/', bulkRetryPages(services));
  app.route('/', connectionPages(services));
  app.route('/', merchantPages(services));

  app.all('*', (c) =>
    render(c, <Page title="Not found" session={c.get('session')} flash={{ kind: 'alert', text: `There is no console page ${c.req.path}.` }} />, 404),
  );

  app.onError((error, c) => {
    const known = toApiError(error);
    if (!known) logger.error({ err: error, path: c.req.path }, 'console page failed');
    const text = known ? known.message : 'Something went wrong on our side; it has been logged.';
    const status = known ? known.status : 500;
    return render(c, <Page title={status === 404 ? 'Not found' : 'Could not show this page'} session={c.get('session') ?? null} flash={{ kind: 'alert', text }} />, status);
  });
  return app;
}
