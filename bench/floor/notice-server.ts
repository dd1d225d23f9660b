/**
 * The shipnotify floor: the least a Custom Store endpoint can do and still be honest with ShipStation.
 * The same HTTP stack as the API (Node's server through @hono/node-server, Hono), the same Basic
 * credentials read and looked up the same way (keyed digest, one constant-time comparison), and an
 * answer after one INSERT of the notice row. No order lookup, no fact, no request log.
 *
 * Run as its own process, like the API it is compared with:
 * `DATABASE_URL=... SECRET_DIGEST_KEY=... PORT=... node --import tsx bench/floor/notice-server.ts`.
 */
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { readCredentials } from '../../api/shipstation/credentials';
import { openDatabase, type Db } from '../../db/client';
import { findConnectionForLogin } from '../../db/connections';
import { matchStoredDigest, SecretDigest } from '../../db/secret-digest';

/** Its own table: the floor's rows never mix with what the API stores. */
export async function prepareFloorTable(db: Db): Promise<void> {
  await db.execute(sql`create table if not exists bench_floor_notices (id bigint generated always as identity primary key, connection_id text not null, received_at timestamptz not null default now(), body text not null)`);
}

export function noticeFloorApp(db: Db, secretDigest: SecretDigest): Hono {
  const app = new Hono();
  const noSuchConnection = secretDigest.digest('no such connection');
  app.post('/shipstation', async (c) => {
    const read = readCredentials(c.req.header('Authorization'), new URL(c.req.url).searchParams);
    if (!read.ok) return c.text(read.reason, 401);
    const forms = secretDigest.storedForms(read.credentials.password);
    const connection = await findConnectionForLogin(db, read.credentials.username);
    if (!matchStoredDigest(forms, connection?.passwordHash ?? noSuchConnection) || !connection) return c.text('unknown username or wrong password', 401);
    const body = await c.req.text();
    await db.execute(sql`insert into bench_floor_notices (connection_id, body) values (${connection.id}, ${body})`);
    return c.text('OK', 200);
  });
  return app;
}

async function main() {
  const url = process.env.DATABASE_URL;
  const key = process.env.SECRET_DIGEST_KEY;
  const port = Number(process.env.PORT);
  if (!url || !key || !port) throw new Error('DATABASE_URL, SECRET_DIGEST_KEY and PORT are required');
  const database = await openDatabase({ url });
  await prepareFloorTable(database.db);
  const server = serve({ fetch: noticeFloorApp(database.db, new SecretDigest(key)).fetch, port, hostname: '127.0.0.1' }, () => console.log('floor listening'));
  const stop = () => server.close(() => void database.close().then(() => process.exit(0)));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(`floor failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
