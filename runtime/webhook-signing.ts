/**
 * Signing webhook deliveries the Standard Webhooks way (https://www.standardwebhooks.com/), beside
 * the older X-Signature header kept for a deprecation period. Pure: no I/O.
 *
 * A secret is `whsec_` + standard base64 of its key bytes (what the standard's verifiers decode).
 * Secrets issued before that were `whsec_` + base64url; the migration re-encoded them (same key
 * bytes) and kept the string as issued for X-Signature, which was keyed with the whole string.
 */
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** 24 random bytes, as before: the key length did not change with the encoding. */
export const newSigningSecret = () => `${PREFIX}${randomBytes(24).toString('base64')}`;

/**
 * The key bytes of a secret. Node's base64 decoder takes both alphabets, so a secret still in the
 * old base64url form (written by an older process during a rolling upgrade) signs with the same key.
 */
export const signingKey = (secret: string): Buffer => Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');

/** One `v1,<base64 HMAC-SHA256>` over `${id}.${timestamp}.${body}`. */
export function standardSignature(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', signingKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The deprecated `X-Signature: sha256=<hex>`: HMAC-SHA256 of the body keyed with the secret string as issued. */
export const legacySignature = (key: string, body: string) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;

export interface SigningSecrets {
  current: string;
  /** The secret before the last rotation, while its grace lasts; it signs beside the current one. */
  previous: string | null;
  /** The key X-Signature uses: the current secret's string as issued. */
  legacyKey: string;
}

/**
 * The signature headers of one attempt. `id` is the same on every attempt at one message (receivers
 * dedupe on it); the timestamp is the attempt's, so receivers can refuse replays of old ones.
 */
export function signatureHeaders(secrets: SigningSecrets, message: { id: string; timestamp: number; body: string }): Record<string, string> {
  const keys = secrets.previous ? [secrets.current, secrets.previous] : [secrets.current];
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(message.timestamp),
    'webhook-signature': keys.map((key) => standardSignature(key, message.id, message.timestamp, message.body)).join(' '),
    'X-Signature': legacySignature(secrets.legacyKey, message.body),
  };
}
