/**
 * Merchants and their API keys (owned by the API). Keys are stored only as keyed digests
 * (db/secret-digest.ts); a legacy SHA-256 digest is accepted and replaced on its first use.
 */
import { randomBytes } from 'node:crypto';
import { and, eq, exists, inArray } from 'drizzle-orm';
import type { Db } from './client';
import { clearFailuresWhen, type FailurePair } from './credential-failures';
import { merchants, type MerchantRow } from './schema';
import type { SecretDigest } from './secret-digest';

/** A merchant API key: prefix for recognisability in logs and secret scanners, 32 random bytes. */
export const newApiKey = () => `ssk_${randomBytes(32).toString('base64url')}`;

export class MerchantExistsError extends Error {}

export async function createMerchant(db: Db, digest: SecretDigest, input: { id: string; name: string }): Promise<{ merchant: MerchantRow; apiKey: string }> {
  const apiKey = newApiKey();
  const inserted = await db
    .insert(merchants)
    .values({ id: input.id, name: input.name, apiKeyHash: digest.digest(apiKey) })
    .onConflictDoNothing({ target: merchants.id })
    .returning();
  if (inserted.length === 0) throw new MerchantExistsError(`merchant ${input.id} already exists`);
  return { merchant: inserted[0]!, apiKey };
}

export async function rotateMerchantKey(db: Db, digest: SecretDigest, merchantId: string): Promise<string | null> {
  const apiKey = newApiKey();
  const updated = await db
    .update(merchants)
    .set({ apiKeyHash: digest.digest(apiKey), apiKeyRotatedAt: new Date().toISOString() })
    .where(eq(merchants.id, merchantId))
    .returning({ id: merchants.id });
  return updated.length ? apiKey : null;
}

/**
 * The merchant whose key this is. The lookup is an index probe on the digest: timing there can
 * reveal at most how much of a keyed digest matched, which says nothing about any key to someone
 * without SECRET_DIGEST_KEY. With `clearFailures`, the same statement deletes that pair's counter of
 * failed attempts when the key is valid (no round trip of its own). A legacy digest is replaced by
 * the keyed one (only if the row still holds it: a rotation meanwhile wins).
 */
export async function findMerchantByApiKey(db: Db, digest: SecretDigest, apiKey: string, options: { clearFailures?: FailurePair } = {}): Promise<MerchantRow | null> {
  const [keyed, legacy] = digest.storedForms(apiKey);
  const matches = inArray(merchants.apiKeyHash, [keyed, legacy]);
  const query = options.clearFailures
    ? db
        .with(clearFailuresWhen(db, options.clearFailures, exists(db.select({ id: merchants.id }).from(merchants).where(matches))))
        .select()
        .from(merchants)
        .where(matches)
    : db.select().from(merchants).where(matches);
  const [merchant] = await query;
  if (!merchant) return null;
  if (merchant.apiKeyHash === legacy) {
    await db.update(merchants).set({ apiKeyHash: keyed }).where(and(eq(merchants.id, merchant.id), eq(merchants.apiKeyHash, legacy)));
    return { ...merchant, apiKeyHash: keyed };
  }
  return merchant;
}

export async function findMerchant(db: Db, merchantId: string): Promise<MerchantRow | null> {
  const [merchant] = await db.select().from(merchants).where(eq(merchants.id, merchantId));
  return merchant ?? null;
}

/** Every merchant, by id (the console's list; merchants are few). */
export async function listMerchants(db: Db): Promise<MerchantRow[]> {
  return db.select().from(merchants).orderBy(merchants.id);
}

/** Replaces the merchant's deadline overrides; orders created afterwards use them. */
export async function setMerchantDeadlines(db: Db, merchantId: string, deadlines: MerchantRow['deadlines']): Promise<void> {
  await db.update(merchants).set({ deadlines }).where(eq(merchants.id, merchantId));
}
