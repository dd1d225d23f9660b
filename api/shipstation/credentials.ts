/**
 * ShipStation authenticates with HTTP Basic, and sometimes (or only, where a host strips the
 * Authorization header) with `SS-UserName` / `SS-Password` query parameters. Either source is
 * accepted; when both are present they must agree.
 */

/**
 * Sent by `npm run ops -- connections test`: the export answers exactly as to ShipStation but takes
 * no snapshot, records no served window and marks nothing, so testing a connection changes nothing.
 */
export const DRY_RUN_HEADER = 'X-Connector-Dry-Run';

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
