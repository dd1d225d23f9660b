/** ShipStation connections: their scope, credentials and state. Export pages: db/export-pages.ts; request log: db/request-log.ts. */
import { randomBytes } from 'node:crypto';
import { and, eq, exists, inArray } from 'drizzle-orm';
import type { Db } from './client';
import { clearFailuresWhen, type FailurePair } from './credential-failures';
import type { SecretDigest } from './secret-digest';
import { connections, merchants, orders, type ConnectionRow } from './schema';

export class ScopeConflictError extends Error {}
export class UnknownMerchantError extends Error {}

const randomToken = (bytes: number) => randomBytes(bytes).toString('base64url');
/** Usernames are what a merchant types into ShipStation: short, unambiguous, unique. */
const newUsername = (merchantId: string) => `ss-${merchantId.slice(0, 20)}-${randomBytes(4).toString('hex')}`;
/** Prefixed like the other secrets (secret scanners spot it; it never starts with "-", which a CLI would read as an option). */
export const newConnectionPassword = () => `ssp_${randomToken(24)}`;

/**
 * Creates a connection. Scopes of one merchant never overlap: a whole-account connection excludes
 * every other, and one source has at most one connection (or an order would reach two stores).
 */
export async function createConnection(db: Db, digest: SecretDigest, merchantId: string, source: string | null): Promise<{ connection: ConnectionRow; password: string }> {
  const password = newConnectionPassword();
  return db.transaction(async (tx) => {
    // Serialises connection changes of this merchant so two creates cannot both pass the check.
    const [merchant] = await tx.select({ id: merchants.id }).from(merchants).where(eq(merchants.id, merchantId)).for('update');
    if (!merchant) throw new UnknownMerchantError(`no merchant ${merchantId}`);
    const existing = await tx.select().from(connections).where(eq(connections.merchantId, merchantId));
    const clash = existing.find((c) => c.source === null || source === null || c.source === source);
    if (clash) {
      const what = clash.source === null ? 'the whole account' : `source "${clash.source}"`;
      throw new ScopeConflictError(
        `connection ${clash.username} already covers ${what} of merchant ${merchantId}${clash.disabledAt ? ' (disabled)' : ''}; scopes may not overlap`,
      );
    }
    const [connection] = await tx
      .insert(connections)
      .values({ id: `con_${randomToken(9)}`, merchantId, source, username: newUsername(merchantId), passwordHash: digest.digest(password) })
      .returning();
    return { connection: connection!, password };
  });
}

export async function listConnections(db: Db, merchantId: string): Promise<ConnectionRow[]> {
  return db.select().from(connections).where(eq(connections.merchantId, merchantId)).orderBy(connections.createdAt);
}

/** Every connection of every merchant (the console's list), by merchant then age. */
export async function listAllConnections(db: Db): Promise<ConnectionRow[]> {
  return db.select().from(connections).orderBy(connections.merchantId, connections.createdAt);
}

export async function findConnection(db: Db, username: string): Promise<ConnectionRow | null> {
  const [row] = await db.select().from(connections).where(eq(connections.username, username));
  return row ?? null;
}

/**
 * The connection a ShipStation call names, to check its password against. With `clearFailures`, the
 * same statement deletes the pair's counter of failed attempts when the password matches one of
 * `passwordDigests` (its keyed and legacy digests), so a success costs no round trip of its own. The
 * caller still decides by its own constant-time check; the comparison here is of keyed digests,
 * whose timing tells nothing about a password to someone without SECRET_DIGEST_KEY.
 */
export async function findConnectionForLogin(
  db: Db,
  username: string,
  options: { clearFailures?: { pair: FailurePair; passwordDigests: string[] } } = {},
): Promise<ConnectionRow | null> {
  const named = eq(connections.username, username);
  const clear = options.clearFailures;
  const query = clear
    ? db
        .with(clearFailuresWhen(db, clear.pair, exists(db.select({ id: connections.id }).from(connections).where(and(named, inArray(connections.passwordHash, clear.passwordDigests))))))
        .select()
        .from(connections)
        .where(named)
    : db.select().from(connections).where(named);
  const [row] = await query;
  return row ?? null;
}

/** Replaces a legacy password digest that just matched by the keyed one (unless a rotation got there first). */
export async function upgradePasswordDigest(db: Db, connectionId: string, legacy: string, keyed: string): Promise<void> {
  await db.update(connections).set({ passwordHash: keyed }).where(and(eq(connections.id, connectionId), eq(connections.passwordHash, legacy)));
}

export async function rotateConnectionPassword(db: Db, digest: SecretDigest, username: string): Promise<string | null> {
  const password = newConnectionPassword();
  const updated = await db
    .update(connections)
    .set({ passwordHash: digest.digest(password), passwordRotatedAt: new Date().toISOString() })
    .where(eq(connections.username, username))
    .returning({ id: connections.id });
  return updated.length ? password : null;
}

export async function setConnectionDisabled(db: Db, username: string, reason: string | null): Promise<ConnectionRow | null> {
  const [row] = await db
    .update(connections)
    .set(reason === null ? { disabledAt: null, disabledReason: null } : { disabledAt: new Date().toISOString(), disabledReason: reason })
    .where(eq(connections.username, username))
    .returning();
  return row ?? null;
}

export async function deleteConnection(db: Db, username: string): Promise<boolean> {
  const deleted = await db.delete(connections).where(eq(connections.username, username)).returning({ id: connections.id });
  return deleted.length > 0;
}

/** The orders a connection may see: its merchant's, and only its source's when it has one. */
export function connectionScope(connection: Pick<ConnectionRow, 'merchantId' | 'source'>) {
  return connection.source === null
    ? eq(orders.merchantId, connection.merchantId)
    : and(eq(orders.merchantId, connection.merchantId), eq(orders.source, connection.source))!;
}
