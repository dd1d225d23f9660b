/** Merchants and their API keys (owned by the API; keys are stored as SHA-256 digests only). */
import { createHash, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from './client';
import { merchants, type MerchantRow } from './schema';

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A merchant API key: prefix for recognisability in logs and secret scanners, 32 random bytes. */
export const newApiKey = () => `ssk_${randomBytes(32).toString('base64url')}`;

export class MerchantExistsError extends Error {}

export async function createMerchant(db: Db, input: { id: string; name: string }): Promise<{ merchant: MerchantRow; apiKey: string }> {
  const apiKey = newApiKey();
  const inserted = await db
    .insert(merchants)
    .values({ id: input.id, name: input.name, apiKeyHash: hashSecret(apiKey) })
    .onConflictDoNothing({ target: merchants.id })
    .returning();
  if (inserted.length === 0) throw new MerchantExistsError(`merchant ${input.id} already exists`);
  return { merchant: inserted[0]!, apiKey };
}

export async function rotateMerchantKey(db: Db, merchantId: string): Promise<string | null> {
  const apiKey = newApiKey();
  const updated = await db
    .update(merchants)
    .set({ apiKeyHash: hashSecret(apiKey), apiKeyRotatedAt: new Date().toISOString() })
    .where(eq(merchants.id, merchantId))
    .returning({ id: merchants.id });
  return updated.length ? apiKey : null;
}

export async function findMerchantByApiKey(db: Db, apiKey: string): Promise<MerchantRow | null> {
  const [merchant] = await db.select().from(merchants).where(eq(merchants.apiKeyHash, hashSecret(apiKey)));
  return merchant ?? null;
}

export async function findMerchant(db: Db, merchantId: string): Promise<MerchantRow | null> {
  const [merchant] = await db.select().from(merchants).where(eq(merchants.id, merchantId));
  return merchant ?? null;
}
