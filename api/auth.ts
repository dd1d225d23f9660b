/**
 * Bearer-token authentication: the admin token, or a merchant's API key. Failed attempts are counted
 * per client address and, past the limit, answered 429 instead of 401/403 (api/credential-throttle.ts);
 * a correct token always proceeds.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { findMerchantByApiKey } from '../db/merchants';
import type { MerchantRow } from '../db/schema';
import type { Db } from '../db/client';
import type { SecretDigest } from '../db/secret-digest';
import { addLogContext } from '../runtime/log-context';
import { ADMIN_IDENTITY, API_KEY_IDENTITY, type CredentialThrottle, type ThrottleVerdict } from './credential-throttle';
import { ApiError } from './errors';

export type MerchantEnv = { Variables: { merchant: MerchantRow } };

/** What checking credentials needs: the read model, the key of the stored digests, the shared failure counters. */
export interface AuthDeps {
  db: Db;
  secretDigest: SecretDigest;
  throttle: CredentialThrottle;
  adminToken: string | null;
}

function bearerToken(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

const unauthorized = (message: string) =>
  new ApiError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer' });

/** A failed attempt past the limit: 429 with the seconds left in the window. */
const tooManyFailures = (verdict: ThrottleVerdict, what: string) =>
  new ApiError(429, 'too_many_failures', `too many failed attempts with ${what} from this address; try again in ${verdict.retryAfterSeconds} s`, undefined, {
    'Retry-After': String(verdict.retryAfterSeconds),
  });

/** Digests make the comparison constant-time whatever the lengths. */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Marks a request whose admin token was checked. Several sub-apps mount on /api/admin, each with this
 * middleware, and in Hono a mounted sub-app's middleware sees every request under its prefix: the
 * token is checked by the first, and the rest let the request through.
 */
export type AdminEnv = { Variables: { adminChecked: true } };

export const requireAdmin = (auth: Pick<AuthDeps, 'adminToken' | 'throttle'>) =>
  createMiddleware<AdminEnv>(async (c, next) => {
    if (c.get('adminChecked')) {
      await next();
      return;
    }
    const { adminToken, throttle } = auth;
    if (!adminToken) throw new ApiError(403, 'forbidden', 'the admin API is disabled: ADMIN_TOKEN is not set');
    const token = bearerToken(c.req.header('Authorization'));
    if (!token) throw unauthorized('send the admin token as "Authorization: Bearer <ADMIN_TOKEN>"');
    if (!secretsEqual(token, adminToken)) {
      const verdict = await throttle.failed(throttle.pairFor(c, ADMIN_IDENTITY), 'admin');
      if (verdict.throttled) throw tooManyFailures(verdict, 'the admin token');
      throw new ApiError(403, 'forbidden', 'the admin token is wrong');
    }
    // A correct admin token does not clear the '(admin)' counter: checking it needs no query, and
    // clearing would add a write to every admin call. The counter never blocks the correct token
    // anyway; it simply ends with its window.
    c.set('adminChecked', true);
    await next();
  });

export const requireMerchant = (auth: Pick<AuthDeps, 'db' | 'secretDigest' | 'throttle'>) =>
  createMiddleware<MerchantEnv>(async (c, next) => {
    const { db, secretDigest, throttle } = auth;
    const token = bearerToken(c.req.header('Authorization'));
    if (!token) throw unauthorized('send your API key as "Authorization: Bearer <apiKey>"');
    const pair = throttle.pairFor(c, API_KEY_IDENTITY);
    // A valid key clears the address's counter in the same statement as the lookup.
    const merchant = await findMerchantByApiKey(db, secretDigest, token, { clearFailures: pair });
    if (!merchant) {
      const verdict = await throttle.failed(pair, 'api_key');
      if (verdict.throttled) throw tooManyFailures(verdict, 'an API key');
      throw unauthorized('the API key is not valid (it may have been rotated)');
    }
    c.set('merchant', merchant);
    addLogContext({ merchant: merchant.id });
    await next();
  });
