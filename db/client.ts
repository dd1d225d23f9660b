/**
 * Opens the read model: PostgreSQL when a URL is given, otherwise embedded PGlite (a folder on disk,
 * or `memory://` for tests). Both speak the same schema and the same drizzle API.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** A human-readable location with no password in it. */
  location: string;
  close(): Promise<void>;
}

export type DatabaseTarget = { url: string } | { pglitePath: string };

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if ('url' in target) {
    const client = postgres(target.url, { max: 10, onnotice: () => {}, connect_timeout: 10 });
    const db = drizzlePostgres(client, { schema }) as unknown as Db;
    return {
      db,
      kind: 'postgres',
      location: redactUrl(target.url),
      close: () => client.end({ timeout: 5 }),
    };
  }
  if (target.pglitePath !== 'memory://') mkdirSync(target.pglitePath, { recursive: true });
  const client = await PGlite.create(target.pglitePath);
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return { db, kind: 'pglite', location: target.pglitePath, close: () => client.close() };
}

/** The rows of a raw `db.execute`: postgres.js answers an array, PGlite an object holding `rows`. */
export const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as T[];

export async function pingDatabase(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database url)';
  }
}
