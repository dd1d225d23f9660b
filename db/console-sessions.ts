/**
 * Ops console sessions (table console_sessions). The cookie holds a random token; only its SHA-256
 * digest is stored, so a copy of the table signs nobody in. A session ends when it expires or its
 * holder signs out; expired rows are removed whenever someone signs in.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, lt, sql } from 'drizzle-orm';
import type { Db } from './client';
import { consoleSessions, type ConsoleSessionRow } from './schema';

export type Flash = NonNullable<ConsoleSessionRow['flash']>;

const digestOf = (token: string) => createHash('sha256').update(token).digest('hex');

export async function createConsoleSession(db: Db, input: { name: string | null; ttlMs: number }): Promise<{ token: string; session: ConsoleSessionRow }> {
  await db.delete(consoleSessions).where(lt(consoleSessions.expiresAt, sql`now()`));
  const token = randomBytes(32).toString('base64url');
  const [session] = await db
    .insert(consoleSessions)
    .values({
      tokenDigest: digestOf(token),
      name: input.name,
      formToken: randomBytes(24).toString('base64url'),
      expiresAt: sql`now() + ${`${Math.round(input.ttlMs)} milliseconds`}::interval`,
    })
    .returning();
  return { token, session: session! };
}

/** The live session the cookie's token names, or null (unknown, ended or expired). */
export async function findConsoleSession(db: Db, token: string): Promise<ConsoleSessionRow | null> {
  const [row] = await db
    .select()
    .from(consoleSessions)
    .where(and(eq(consoleSessions.tokenDigest, digestOf(token)), gt(consoleSessions.expiresAt, sql`now()`)));
  return row ?? null;
}

export async function endConsoleSession(db: Db, token: string): Promise<void> {
  await db.delete(consoleSessions).where(eq(consoleSessions.tokenDigest, digestOf(token)));
}

/** The outcome the next page shows (then clears: see takeFlash). */
export async function setFlash(db: Db, session: ConsoleSessionRow, flash: Flash): Promise<void> {
  await db.update(consoleSessions).set({ flash }).where(eq(consoleSessions.tokenDigest, session.tokenDigest));
}

/** Clears the flash a page is about to show, so it is shown once. */
export async function clearFlash(db: Db, session: ConsoleSessionRow): Promise<void> {
  await db.update(consoleSessions).set({ flash: null }).where(eq(consoleSessions.tokenDigest, session.tokenDigest));
}
