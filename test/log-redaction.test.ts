/**
 * What the logs never hold: a failed statement's values (a ShipNotice's address, a signing secret)
 * and the password in a URL, on a real database refusing a real write.
 */
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, redactUrlCredentials } from '../runtime/logger';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from './support/database';

function capturedLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('info', 'test', destination), text: () => lines.join('') };
}

describe.each(DATABASE_KINDS)('log redaction (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(() => database?.close());

  it('a write the database refuses is logged with its statement and SQLSTATE, never its values', async () => {
    const address = '221B Baker Street, London';
    const secret = 'whsec_c2VjcmV0LXNpZ25pbmcta2V5LXZhbHVlLTEyMzQ1';
    await database.db.execute(sql`create table refused_write (address text, secret text, n integer check (n > 0))`);
    const failure = await database.db.execute(sql`insert into refused_write values (${address}, ${secret}, ${-1})`).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).not.toBeNull();
    const { logger, text } = capturedLogger();
    logger.error({ err: failure }, 'projection failed');
    logger.flush();
    await new Promise((r) => setTimeout(r, 50));
    const logged = text();
    expect(logged).toContain('insert into refused_write');
    expect(JSON.parse(logged).err).toMatchObject({ sqlState: '23514', query: 'insert into refused_write values ($1, $2, $3)' });
    expect(logged).toContain('check constraint');
    expect(logged).not.toContain('Baker Street');
    expect(logged).not.toContain(secret);
  });
});

describe('URLs in logs', () => {
  it('lose their passwords, wherever they appear', async () => {
    expect(redactUrlCredentials('postgres://app:s3cret@db.internal:5432/connector')).toBe('postgres://app:***@db.internal:5432/connector');
    expect(redactUrlCredentials('see https://hooks.example.com/a@b and https://u:p@x.test/')).toBe('see https://hooks.example.com/a@b and https://u:***@x.test/');
    const { logger, text } = capturedLogger();
    logger.warn({ url: 'https://merchant:hunter2@hooks.example.com/ship', err: new Error('connect to postgres://app:s3cret@db:5432 failed') }, 'delivery to https://merchant:hunter2@hooks.example.com/ship failed');
    logger.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(text()).not.toMatch(/hunter2|s3cret/);
    expect(text()).toContain('https://merchant:***@hooks.example.com/ship');
  });
});
