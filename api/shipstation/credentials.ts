/**
 * Who is calling the ShipStation endpoint. ShipStation authenticates with HTTP Basic, and sometimes
 * (or only, where a host strips the Authorization header) with `SS-UserName` / `SS-Password` query
 * parameters. Either source is accepted; when both are present they must agree. The password is
 * checked against the connection's keyed digest in constant time.
 */
import type { Context } from 'hono';
import { findConnectionForLogin, upgradePasswordDigest } from '../../db/connections';
import type { ConnectionRow } from '../../db/schema';
import { matchStoredDigest } from '../../db/secret-digest';
import { addLogContext } from '../../runtime/log-context';
import type { RouteServices } from '../services';
import { text, type Outcome } from './outcome';
import { UNKNOWN_USERNAME_IDENTITY } from '../credential-throttle';

export interface Credentials {
  username: string;
  password: string;
}

export type CredentialsResult = { ok: true; credentials: Credentials } | { ok: false; reason: string };

/** Query parameter names are matched case-insensitively; senders spell them differently. */
export function queryParam(params: URLSearchParams, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of params) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

function fromBasic(header: string | undefined): Credentials | null | 'malformed' {
  if (!header) return null;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match) return /^Basic\b/i.test(header) ? 'malformed' : null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function readCredentials(authorization: string | undefined, params: URLSearchParams): CredentialsResult {
  const basic = fromBasic(authorization);
  if (basic === 'malformed') return { ok: false, reason: 'the Authorization header is not valid Basic credentials' };
  const username = queryParam(params, 'SS-UserName');
  const password = queryParam(params, 'SS-Password');
  const query = username !== undefined || password !== undefined ? { username: username ?? '', password: password ?? '' } : null;
  if (basic && query && (basic.username !== query.username || basic.password !== query.password)) {
    return { ok: false, reason: 'the Authorization header and the SS-UserName/SS-Password parameters disagree' };
  }
  const credentials = basic ?? query;
  if (!credentials || !credentials.username) return { ok: false, reason: 'credentials required (HTTP Basic, or SS-UserName and SS-Password)' };
  // Usernames are generated and never hold a NUL, which the database cannot even look up (the lookup
  // would fail instead of finding nobody): such a username is unknown, answered before any query.
  if (credentials.username.includes('\u0000')) return { ok: false, reason: 'unknown username or wrong password' };
  return { ok: true, credentials };
}

/** The query string as it may be stored or logged: SS-Password never appears. */
export function maskedQuery(params: URLSearchParams): string {
  const masked = new URLSearchParams();
  for (const [key, value] of params) masked.append(key, key.toLowerCase() === 'ss-password' ? '***' : value);
  return masked.toString();
}

/** A call's connection, or why it is refused (a disabled connection's refusal goes in its own request log). */
export type Login = { ok: true; connection: ConnectionRow } | { ok: false; refusal: Outcome; connection: ConnectionRow | null };

/**
 * Checks calls' credentials. Failed attempts are counted per (username, client address), made-up
 * usernames all under one identity per address, and past the limit answered 429; a correct password is never refused (api/credential-throttle.ts).
 */
export function connectionLogin(services: Pick<RouteServices, 'db' | 'secretDigest' | 'throttle'>) {
  const { db, secretDigest, throttle } = services;
  /** What an unknown username's password is checked against, so that costs what a wrong password does. */
  const noSuchConnection = secretDigest.digest('no such connection');

  return async function login(c: Context, params: URLSearchParams): Promise<Login> {
    const read = readCredentials(c.req.header('Authorization'), params);
    if (!read.ok) return { ok: false, refusal: text(401, read.reason), connection: null };
    const { username, password } = read.credentials;
    const pair = throttle.pairFor(c, username);
    const forms = secretDigest.storedForms(password);
    // A correct password clears the pair's failure counter within this same lookup.
    const connection = await findConnectionForLogin(db, username, { clearFailures: { pair, passwordDigests: forms } });
    // The same digests and one constant-time comparison either way: an unknown user costs what a wrong password does.
    const matched = matchStoredDigest(forms, connection?.passwordHash ?? noSuchConnection);
    if (!matched || !connection) {
      // A made-up username is counted with every other one from this address (one row, however many names).
      const verdict = await throttle.failed(connection ? pair : throttle.pairFor(c, UNKNOWN_USERNAME_IDENTITY), 'shipstation');
      if (verdict.throttled) {
        const reason = `too many failed attempts ${connection ? 'for this username ' : 'with unknown usernames '}from this address; try again in ${verdict.retryAfterSeconds} s`;
        return { ok: false, refusal: text(429, reason, {}, { 'Retry-After': String(verdict.retryAfterSeconds) }), connection: null };
      }
      return { ok: false, refusal: text(401, 'unknown username or wrong password'), connection: null };
    }
    if (matched === 'legacy') await upgradePasswordDigest(db, connection.id, connection.passwordHash, forms[0]);
    addLogContext({ merchant: connection.merchantId, connection: connection.username });
    if (connection.disabledAt) {
      return { ok: false, refusal: text(403, `this connection is disabled: ${connection.disabledReason ?? 'no reason given'}`), connection };
    }
    return { ok: true, connection };
  };
}
