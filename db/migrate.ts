import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { Database } from './client';

/** Next to this module in the source tree, and next to dist/migrate.js in the build (scripts/build.ts). */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

/** Any constant shared by every process that migrates this database; "ssw-migrate" as a number. */
const MIGRATION_LOCK = 0x7373776d;

/**
 * Applies every committed migration that has not run yet. Safe on every start and from several
 * processes at once (two `db:migrate` jobs, a scaled deployment): on PostgreSQL a transaction holds an
 * advisory lock while the migrator runs on the pool's other connections, so the second process waits,
 * then finds nothing left to do. PGlite is single-process and needs no lock.
 */
export async function migrateDatabase(database: Database): Promise<void> {
  const config = { migrationsFolder: MIGRATIONS_FOLDER };
  if (database.kind === 'pglite') {
    await migratePglite(database.db as never, config);
    return;
  }
  await database.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await migratePostgres(database.db as never, config);
  });
}
