/** Bearer-token authentication: the admin token, or a merchant's API key. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { findMerchantByApiKey } from '../db/merchants';
import type { MerchantRow } from '../db/schema';
import type { Db } from '../db/client';
import { addLogContext } from '../runtime/log-context';
import { ApiError } from './errors';

export type MerchantEnv = { Variables: { merchant: MerchantRow } };

function bearerToken(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

const unauthorized = (message: string) =>
  new ApiError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer' });

/** Digests make the comparison constant-time whatever the lengths. */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export const requireAdmin = (adminToken: string | null) =>
  createMiddleware(async (c, next) => {
    if (!adminToken) throw new ApiError(403, 'forbidden', 'the admin API is disabled: ADMIN_TOKEN is not set');
    const token = bearerToken(c.req.header('Authorization'));
    if (!token) throw unauthorized('send the admin token as "Authorization: Bearer <ADMIN_TOKEN>"');
    if (!secretsEqual(token, adminToken)) throw new ApiError(403, 'forbidden', 'the admin token is wrong');
    await next();
  });

export const requireMerchant = (db: Db) =>
  createMiddleware<MerchantEnv>(async (c, next) => {
    const token = bearerToken(c.req.header('Authorization'));
    if (!token) throw unauthorized('send your API key as "Authorization: Bearer <apiKey>"');
    const merchant = await findMerchantByApiKey(db, token);
    if (!merchant) throw unauthorized('the API key is not valid (it may have been rotated)');
    c.set('merchant', merchant);
    addLogContext({ merchant: merchant.id });
    await next();
  });
