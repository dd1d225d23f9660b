/** Real databases for tests: in-memory PGlite, or a fresh PostgreSQL database per suite. */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../db/client';
import { migrateDatabase } from '../../db/migrate';

export type DatabaseKind = 'pglite' | 'postgres';

/** The kinds this run can test: PGlite always, PostgreSQL when global setup found one. */
export const DATABASE_KINDS: DatabaseKind[] = inject('postgresUrl') ? ['pglite', 'postgres'] : ['pglite'];

export interface TestDatabase extends Database {
  /** For PostgreSQL: the URL of this suite's own database. */
  url: string | null;
}

/** `migrate: false` leaves a PostgreSQL database empty, for tests of the migrate command itself. */
export async function openTestDatabase(kind: DatabaseKind, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const database = await openDatabase({ pglitePath: 'memory://' });
    await migrateDatabase(database);
    return { ...database, url: null };
  }
  const adminUrl = inject('postgresUrl');
  if (!adminUrl) throw new Error('PostgreSQL is not available in this run');
  const name = `ssw_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString() });
  if (options.migrate !== false) await migrateDatabase(database);
  return {
    ...database,
    url: url.toString(),
    close: async () => {
      await database.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}
