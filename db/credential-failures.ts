/**
 * The shared counters of failed credential attempts (table credential_failures): one statement per
 * failed attempt, none of its own on a successful one. What the counts mean is decided in
 * api/credential-throttle.ts.
 */
import { and, eq, lt, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from './client';
import { credentialFailures } from './schema';

/** Whose attempts are counted together: an identity (username, or a fixed name for bearer keys) from one client address. */
export interface FailurePair {
  identity: string;
  clientAddress: string;
}

/** The longest window a counter may have (AUTH_FAILURE_WINDOW's maximum); older rows are dead. */
export const MAX_FAILURE_WINDOW_MS = 86_400_000;

export interface FailureCount {
  /** Failures of the pair in the current window, this one included. */
  failures: number;
  /** Milliseconds until the current window ends (by the database's clock). */
  windowEndsInMs: number;
}

/**
 * Counts one failed attempt of `pair`: one upsert that starts a window at the first failure, adds to
 * it while the window lasts, and starts a new one (count 1) once it has ended. The window is fixed,
 * not sliding: failures past the limit do not extend it. Times are the database's, the one clock
 * every API process shares.
 */
export async function recordFailedAttempt(db: Db, pair: FailurePair, windowMs: number): Promise<FailureCount> {
  const windowLength = sql`(${Math.round(windowMs)}::integer * interval '1 millisecond')`;
  const ended = sql`${credentialFailures.windowStartedAt} <= now() - ${windowLength}`;
  const [row] = await db
    .insert(credentialFailures)
    .values({ identity: pair.identity, clientAddress: pair.clientAddress, failures: 1, windowStartedAt: sql`now()` })
    .onConflictDoUpdate({
      target: [credentialFailures.identity, credentialFailures.clientAddress],
      set: {
        failures: sql`case when ${ended} then 1 else ${credentialFailures.failures} + 1 end`,
        windowStartedAt: sql`case when ${ended} then now() else ${credentialFailures.windowStartedAt} end`,
      },
    })
    .returning({
      failures: credentialFailures.failures,
      windowEndsInMs: sql<number>`ceil(extract(epoch from (${credentialFailures.windowStartedAt} + ${windowLength} - now())) * 1000)`.mapWith(Number),
    });
  return row!;
}

/**
 * A common table expression that deletes `pair`'s counter when `succeeded` (a condition evaluated in
 * the same statement) holds. Attached to the lookup a successful attempt makes anyway, it clears the
 * counter without a round trip of its own; when there is no row it is one index probe that writes
 * nothing. PostgreSQL runs a data-modifying WITH whether or not the main query reads it.
 */
export function clearFailuresWhen(db: Db, pair: FailurePair, succeeded: SQL) {
  return db.$with('cleared_failures').as(
    db
      .delete(credentialFailures)
      .where(and(eq(credentialFailures.identity, pair.identity), eq(credentialFailures.clientAddress, pair.clientAddress), succeeded))
      .returning({ identity: credentialFailures.identity }),
  );
}

/**
 * Deletes counters whose window ended long ago (an ended window counts as no row at all): run by the
 * hourly maintenance schedule, so an attacker spraying usernames cannot grow the table for ever.
 */
export async function purgeExpiredFailures(db: Db, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - MAX_FAILURE_WINDOW_MS).toISOString();
  const expired = db.delete(credentialFailures).where(lt(credentialFailures.windowStartedAt, cutoff));
  // Counted in the database: after an attack there may be many rows, which need not travel back.
  const result = await db.execute(sql`with expired as (${expired.getSQL()} returning 1) select count(*)::int as deleted from expired`);
  return Number(rowsOf<{ deleted: number }>(result)[0]?.deleted ?? 0);
}
