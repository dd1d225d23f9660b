/**
 * Throttling of failed credential attempts, per (identity, client address): the ShipStation
 * username (a username no connection has: '(unknown username)'), or '(api key)' / '(admin)' for
 * bearer tokens (so those count per address). Counters live
 * in the database (credential_failures), so every API process sees the same ones.
 *
 * The rule never blocks correct credentials. ShipStation polls many stores from a few shared
 * addresses, and a store whose password was just fixed after a run of failures must get through at
 * once; so credentials are always checked first, a correct one always proceeds (and clears its
 * pair's counter), and only a failed attempt is answered differently: once its pair has more than
 * AUTH_FAILURE_LIMIT failures in the current window (AUTH_FAILURE_WINDOW), with 429 and Retry-After
 * (the seconds left in the window) instead of 401/403. The window is fixed from the first failure;
 * once it ends the count starts again at 1.
 *
 * What this is for: telling a misconfigured client to back off, and making a guessing run visible
 * (a warning log line when a pair crosses the limit, `credential_failures_total`). What keeps guessing
 * hopeless is the secrets' entropy (192-256 random bits), not this rule: a guesser who ignores 429 is
 * not slowed, by design, since slowing it would mean refusing correct credentials too.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { Db } from '../db/client';
import { recordFailedAttempt, type FailureCount, type FailurePair } from '../db/credential-failures';
import type { Logger } from '../runtime/logger';
import type { ApiMetrics } from './metrics';

/** The identity of bearer API keys: a key names no one until it matches, so failures count per address. */
export const API_KEY_IDENTITY = '(api key)';
export const ADMIN_IDENTITY = '(admin)';
/**
 * The identity of ShipStation usernames no connection has: made-up names count together per address,
 * so spraying usernames grows one counter, not a row per name.
 */
export const UNKNOWN_USERNAME_IDENTITY = '(unknown username)';
/** The client address of a request that came through no socket (an app called in-process, in tests). */
export const NO_SOCKET_ADDRESS = '(no socket)';

/** Usernames are whatever the caller sent: the stored identity is capped (real ones are about 30 characters). */
export const MAX_IDENTITY_LENGTH = 64;
/** Long enough for any IPv6 address with a zone; X-Forwarded-For entries are caller text too. */
const MAX_ADDRESS_LENGTH = 64;

export interface ThrottleSettings {
  /** Failed attempts a pair may make in one window before further failures get 429. */
  maxFailures: number;
  windowMs: number;
}

/** AUTH_FAILURE_LIMIT and AUTH_FAILURE_WINDOW's defaults (runtime/config.ts). */
export const DEFAULT_THROTTLE: ThrottleSettings = { maxFailures: 10, windowMs: 15 * 60_000 };

/** Which credentials failed: a label of `credential_failures_total`. */
export type CredentialKind = 'shipstation' | 'api_key' | 'admin';

export interface ThrottleVerdict {
  /** Answer 429 instead of 401/403. */
  throttled: boolean;
  failures: number;
  /** Whole seconds until the window ends (at least 1): the Retry-After value. */
  retryAfterSeconds: number;
}

// ---- pure ---------------------------------------------------------------------------------------

/**
 * Caller text made safe to store as a key: no control characters (PostgreSQL refuses NUL), no lone
 * surrogates, at most `max` code points.
 */
export function boundedText(value: string, max: number): string {
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '').toWellFormed();
  return Array.from(clean).slice(0, max).join('');
}

/**
 * The client's address: the socket's, or with `trustedHops` proxies in front of the API, the
 * `trustedHops`-th entry from the right of X-Forwarded-For (each proxy appends the address it was
 * called from, so the entries further left are whatever the client wrote). A header shorter than
 * that gives its leftmost entry; no header gives the socket's address.
 */
export function clientAddressFrom(socketAddress: string | null, forwardedFor: string | undefined, trustedHops: number): string {
  if (trustedHops > 0 && forwardedFor) {
    const entries = forwardedFor
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    if (entries.length > 0) return entries[Math.max(0, entries.length - trustedHops)]!;
  }
  return socketAddress ?? NO_SOCKET_ADDRESS;
}

/** What a failed attempt is answered, given its pair's count in the current window. */
export function verdictFor(count: FailureCount, settings: ThrottleSettings): ThrottleVerdict {
  return {
    throttled: count.failures > settings.maxFailures,
    failures: count.failures,
    retryAfterSeconds: Math.max(1, Math.ceil(count.windowEndsInMs / 1000)),
  };
}

// ---- I/O ----------------------------------------------------------------------------------------

/** The socket's remote address; null for a request that came through no socket (in-process calls). */
function socketAddressOf(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
}

export class CredentialThrottle {
  constructor(
    private readonly deps: {
      db: Db;
      settings: ThrottleSettings;
      /** TRUST_PROXY_HOPS. */
      trustProxyHops: number;
      logger: Logger;
      metrics: ApiMetrics;
    },
  ) {}

  /** The pair whose failures an attempt of `identity` in this request counts towards. */
  pairFor(c: Context, identity: string): FailurePair {
    const address = clientAddressFrom(socketAddressOf(c), c.req.header('X-Forwarded-For'), this.deps.trustProxyHops);
    return { identity: boundedText(identity, MAX_IDENTITY_LENGTH), clientAddress: boundedText(address, MAX_ADDRESS_LENGTH) || NO_SOCKET_ADDRESS };
  }

  /** Counts a failed attempt (one statement) and says whether to answer it with 429. */
  async failed(pair: FailurePair, kind: CredentialKind): Promise<ThrottleVerdict> {
    const { db, settings, logger, metrics } = this.deps;
    const verdict = verdictFor(await recordFailedAttempt(db, pair, settings.windowMs), settings);
    metrics.credentialFailure(kind, verdict.throttled);
    // Once per window and pair: the moment it crosses the limit, not on every failure after.
    if (verdict.failures === settings.maxFailures + 1) {
      logger.warn(
        { kind, identity: pair.identity, clientAddress: pair.clientAddress, failures: verdict.failures, retryAfterSeconds: verdict.retryAfterSeconds },
        'failed credential attempts over the limit: further failures from this address get 429 until the window ends',
      );
    }
    return verdict;
  }
}
