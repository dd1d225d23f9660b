/**
 * Security of credentials and answers, against the real stack (Temporal dev server, PGlite and
 * PostgreSQL, the Hono app in-process and on a real socket): keyed digests of API keys and
 * connection passwords with the legacy migration path, the shared throttle of failed attempts (which
 * never blocks correct credentials), secrets kept out of logs and tables, security headers, and the
 * body limit on every route.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { eq, sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { boundedText, clientAddressFrom, MAX_IDENTITY_LENGTH, NO_SOCKET_ADDRESS, UNKNOWN_USERNAME_IDENTITY, verdictFor } from '../api/credential-throttle';
import { closeServer, startApiServer } from '../api/server';
import type { Db } from '../db/client';
import { purgeExpiredFailures } from '../db/credential-failures';
import { connections, credentialFailures, merchants } from '../db/schema';
import { KEYED_DIGEST_PREFIX, legacyDigest, matchStoredDigest, SecretDigest } from '../db/secret-digest';
import { COMPOSE_DEFAULT_SECRET_DIGEST_KEY, ConfigError, loadConfig, resolveSecretDigestKey, SECRET_DIGEST_KEY_FILE } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { freePort } from '../tooling/temporal-cli';
import { PROJECT_ROOT } from '../tooling/project-root';
import { call, type TestApp } from './support/api';
import { DATABASE_KINDS } from './support/database';
import { orderPayload } from './support/orders';
import { startProcess } from './support/processes';
import { shipStationDate, ShipStationSimulator } from './support/shipstation-simulator';
import { startTestStack, uniqueId, type TestStack } from './support/stack';

const ADMIN = 'admin-token-of-the-security-suite';
const KEY_A = 'a3f1c09e7b5d4e2f8a6c1b0d9e7f5a3c';
const KEY_B = '0f9e8d7c6b5a49382716afbecdcba987';

/** Rows of a raw query, whichever driver answered (postgres.js: an array; PGlite: `{ rows }`). */
async function rowsOf<T>(db: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = await db.execute(query);
  return (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as T[];
}

/** Every text value of every table of the read model, as one string per row. */
async function dumpAllTables(db: Db): Promise<{ table: string; row: string }[]> {
  const tables = await rowsOf<{ schema: string; name: string }>(
    db,
    sql`select table_schema as schema, table_name as name from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
  );
  expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['merchants', 'connections', 'connection_requests', 'shipment_notices', 'credential_failures']));
  const dump: { table: string; row: string }[] = [];
  for (const t of tables) {
    const rows = await rowsOf<{ row: string }>(db, sql`select t::text as row from ${sql.identifier(t.schema)}.${sql.identifier(t.name)} as t`);
    for (const r of rows) dump.push({ table: `${t.schema}.${t.name}`, row: r.row });
  }
  return dump;
}

/** A logger writing every line (trace and up) into a string, as pino writes them to stdout. */
function capturingLogger() {
  let text = '';
  const destination = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { logger: createLogger('trace', 'api', destination), text: () => text };
}

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
const exportQuery = () => {
  const enc = (d: Date) => encodeURIComponent(shipStationDate(d));
  return `action=export&start_date=${enc(new Date(Date.now() - 86_400_000))}&end_date=${enc(new Date())}`;
};

// ---- pure parts ---------------------------------------------------------------------------------

describe('keyed digests', () => {
  it('are HMAC-SHA256 under the key, never the plain SHA-256 of the secret, and change with the key', () => {
    const secret = 'ssk_example-secret-value';
    const a = new SecretDigest(KEY_A);
    const b = new SecretDigest(KEY_B);
    const stored = a.digest(secret);
    expect(stored).toMatch(/^hmac:[0-9a-f]{64}$/);
    expect(stored).not.toContain(legacyDigest(secret));
    expect(stored.slice(KEYED_DIGEST_PREFIX.length)).not.toBe(createHash('sha256').update(secret).digest('hex'));
    expect(b.digest(secret)).not.toBe(stored);
    expect(a.digest(secret)).toBe(stored); // deterministic: lookups by digest work
    expect(matchStoredDigest(a.storedForms(secret), stored)).toBe('keyed');
    expect(matchStoredDigest(b.storedForms(secret), stored)).toBeNull();
    expect(matchStoredDigest(a.storedForms(`${secret}x`), stored)).toBeNull();
    // A legacy row (plain SHA-256) still matches, and says so, so the caller upgrades it.
    expect(matchStoredDigest(a.storedForms(secret), legacyDigest(secret))).toBe('legacy');
    expect(matchStoredDigest(a.storedForms('other'), legacyDigest(secret))).toBeNull();
    // Malformed stored values never match (and never throw).
    for (const broken of ['', 'hmac:', 'hmac:zz', 'x'.repeat(64)]) expect(matchStoredDigest(a.storedForms(secret), broken)).toBeNull();
    // The key never shows when the object is logged.
    expect(JSON.stringify({ digest: a })).not.toContain(KEY_A);
  });

  it('refuse a short or non-random key, in the config with a plain message naming the variable and not echoing it', () => {
    for (const bad of ['short', 'a'.repeat(40), '12'.repeat(20)]) {
      expect(() => new SecretDigest(bad)).toThrow(/not usable/);
      let error: unknown;
      try {
        loadConfig({ SECRET_DIGEST_KEY: bad });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/^SECRET_DIGEST_KEY \(value not shown\) is not valid: expected /);
      expect((error as Error).message).not.toContain(bad);
    }
    expect(loadConfig({ SECRET_DIGEST_KEY: KEY_A }).secretDigestKey).toBe(KEY_A);
    // docker-compose.yml's out-of-the-box value is a usable key, and the API recognises it to warn.
    expect(readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')).toContain(`\${SECRET_DIGEST_KEY:-${COMPOSE_DEFAULT_SECRET_DIGEST_KEY}}`);
    expect(loadConfig({ SECRET_DIGEST_KEY: COMPOSE_DEFAULT_SECRET_DIGEST_KEY }).secretDigestKey).toBe(COMPOSE_DEFAULT_SECRET_DIGEST_KEY);
  });

  it('without SECRET_DIGEST_KEY: embedded PGlite keeps a generated key beside its folder; PostgreSQL refuses to start', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ssw-key-'));
    try {
      const embedded = loadConfig({ DATA_DIR: dataDir });
      const first = resolveSecretDigestKey(embedded);
      const file = path.join(dataDir, SECRET_DIGEST_KEY_FILE);
      expect(existsSync(file)).toBe(true);
      expect(statSync(file).mode & 0o077).toBe(0); // readable by its owner only
      expect(resolveSecretDigestKey(embedded)).toBe(first); // kept across starts
      expect(() => new SecretDigest(first)).not.toThrow();
      // A set key wins and nothing is written.
      expect(resolveSecretDigestKey(loadConfig({ DATA_DIR: dataDir, SECRET_DIGEST_KEY: KEY_A }))).toBe(KEY_A);
      // A damaged file is reported, not replaced (that would lock everyone out).
      writeFileSync(file, 'too short\n');
      expect(() => resolveSecretDigestKey(embedded)).toThrow(ConfigError);
      expect(readFileSync(file, 'utf8')).toBe('too short\n');

      const postgresConfig = loadConfig({ DATABASE_URL: 'postgres://db.internal/connector' });
      expect(() => resolveSecretDigestKey(postgresConfig)).toThrow(/^SECRET_DIGEST_KEY is not set: it is required with DATABASE_URL/);
      expect(resolveSecretDigestKey({ ...postgresConfig, secretDigestKey: KEY_B })).toBe(KEY_B);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.runIf(DATABASE_KINDS.includes('postgres'))('the API process on PostgreSQL without SECRET_DIGEST_KEY exits 1 with a plain message', async () => {
    const tsx = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
    const proc = startProcess([tsx, 'api/server.ts'], { DATABASE_URL: inject('postgresUrl')!, SECRET_DIGEST_KEY: '', PORT: String(await freePort()), HOST: '127.0.0.1' });
    expect(await proc.exit, proc.output()).toBe(1);
    expect(proc.output()).toMatch(/^configuration error: SECRET_DIGEST_KEY is not set: it is required with DATABASE_URL/m);
    expect(proc.output()).not.toContain('    at ');
  });
});

describe('throttle rules', () => {
  it('the client address is the socket, or the n-th X-Forwarded-For entry from the right with n trusted proxies', () => {
    expect(clientAddressFrom('10.0.0.1', '198.51.100.7', 0)).toBe('10.0.0.1'); // not trusted: ignored
    expect(clientAddressFrom('10.0.0.1', 'spoofed, 198.51.100.7', 1)).toBe('198.51.100.7');
    expect(clientAddressFrom('10.0.0.1', 'spoofed, 198.51.100.7, 10.0.0.9', 2)).toBe('198.51.100.7');
    expect(clientAddressFrom('10.0.0.1', '198.51.100.7', 3)).toBe('198.51.100.7'); // fewer hops than configured: the leftmost
    expect(clientAddressFrom('10.0.0.1', undefined, 1)).toBe('10.0.0.1');
    expect(clientAddressFrom(null, undefined, 0)).toBe(NO_SOCKET_ADDRESS);
  });

  it('caller text is stored bounded and storable', () => {
    expect(boundedText('a\u0000b\nc\ud800', 10)).toBe('abc\ufffd');
    expect(Array.from(boundedText('🙂'.repeat(100), MAX_IDENTITY_LENGTH))).toHaveLength(MAX_IDENTITY_LENGTH);
  });

  it('only a failure beyond the limit is throttled, told to wait until its window ends', () => {
    const settings = { maxFailures: 3, windowMs: 60_000 };
    expect(verdictFor({ failures: 3, windowEndsInMs: 50_000 }, settings)).toEqual({ throttled: false, failures: 3, retryAfterSeconds: 50 });
    expect(verdictFor({ failures: 4, windowEndsInMs: 49_001 }, settings)).toEqual({ throttled: true, failures: 4, retryAfterSeconds: 50 });
    expect(verdictFor({ failures: 9, windowEndsInMs: -5 }, settings).retryAfterSeconds).toBe(1);
  });
});

// ---- against the database -----------------------------------------------------------------------

describe.each(DATABASE_KINDS)('credentials on %s', (kind) => {
  let stack: TestStack;
  let db: Db;
  const LIMIT = 3;
  const WINDOW_MS = 10 * 60_000;
  /** Two API instances sharing the database (and the key), trusting one proxy hop so tests pick addresses. */
  let app: TestApp;
  let twin: TestApp;

  beforeAll(async () => {
    stack = await startTestStack({ db: kind });
    db = stack.database.db;
    const options = { adminToken: ADMIN, authThrottle: { maxFailures: LIMIT, windowMs: WINDOW_MS }, trustProxyHops: 1 };
    app = stack.app(options);
    twin = stack.app(options);
  });
  afterAll(() => stack?.close());

  const newConnection = async () => {
    const merchant = await stack.newMerchant('sec');
    const res = await call(app, 'POST', `/api/admin/merchants/${merchant.id}/connections`, { token: ADMIN, headers: { 'X-Forwarded-For': '192.0.2.250' } });
    expect(res.status).toBe(201);
    return { merchant, username: res.body.username as string, password: res.body.password as string };
  };
  const shipstation = async (target: TestApp, username: string, password: string, address: string) => {
    const res = await target.request(`/shipstation?${exportQuery()}`, { headers: { Authorization: basic(username, password), 'X-Forwarded-For': address } });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const counterOf = async (identity: string, address: string) =>
    (await db.select().from(credentialFailures).where(sql`${credentialFailures.identity} = ${identity} and ${credentialFailures.clientAddress} = ${address}`))[0] ?? null;

  it('stores the merchant key and the connection password as keyed digests under the suite key', async () => {
    const created = await call(app, 'POST', '/api/admin/merchants', { token: ADMIN, json: { id: uniqueId('dig'), name: 'Digest' } });
    expect(created.status).toBe(201);
    const [merchant] = await db.select().from(merchants).where(eq(merchants.id, created.body.id));
    expect(merchant!.apiKeyHash).toBe(stack.secretDigest.digest(created.body.apiKey));
    expect(merchant!.apiKeyHash).not.toBe(legacyDigest(created.body.apiKey));
    expect(merchant!.apiKeyHash).not.toBe(new SecretDigest(KEY_A).digest(created.body.apiKey));

    const connection = await newConnection();
    const [row] = await db.select().from(connections).where(eq(connections.username, connection.username));
    expect(row!.passwordHash).toBe(stack.secretDigest.digest(connection.password));
    expect(row!.passwordHash).not.toContain(legacyDigest(connection.password));
    // The generated secrets are long random strings.
    expect(created.body.apiKey).toMatch(/^ssk_[\w-]{43}$/);
    expect(connection.password).toMatch(/^ssp_[\w-]{32}$/);
  });

  it('a merchant row with a legacy SHA-256 digest still authenticates, and is upgraded on that first use', async () => {
    const merchant = await stack.newMerchant('legacy');
    await db.update(merchants).set({ apiKeyHash: legacyDigest(merchant.apiKey) }).where(eq(merchants.id, merchant.id));
    const first = await call(app, 'GET', '/api/orders', { token: merchant.apiKey });
    expect(first.status).toBe(200);
    const [row] = await db.select().from(merchants).where(eq(merchants.id, merchant.id));
    expect(row!.apiKeyHash).toBe(stack.secretDigest.digest(merchant.apiKey));
    expect((await call(twin, 'GET', '/api/orders', { token: merchant.apiKey })).status).toBe(200);
    // A wrong key is not let in by the legacy path.
    expect((await call(app, 'GET', '/api/orders', { token: `${merchant.apiKey}x` })).status).toBe(401);
  });

  it('a connection with a legacy SHA-256 password digest still authenticates, and is upgraded on that first use', async () => {
    const c = await newConnection();
    await db.update(connections).set({ passwordHash: legacyDigest(c.password) }).where(eq(connections.username, c.username));
    expect((await shipstation(app, c.username, `${c.password}x`, '192.0.2.1')).status).toBe(401);
    expect((await shipstation(app, c.username, c.password, '192.0.2.1')).status).toBe(200);
    const [row] = await db.select().from(connections).where(eq(connections.username, c.username));
    expect(row!.passwordHash).toBe(stack.secretDigest.digest(c.password));
    expect((await shipstation(twin, c.username, c.password, '192.0.2.1')).status).toBe(200);
  });

  it('ShipStation: past the limit a wrong password gets 429 with Retry-After, the right one still gets 200; other pairs are unaffected', async () => {
    const c = await newConnection();
    const other = await newConnection();
    const address = '198.51.100.10';
    for (let i = 1; i <= LIMIT; i++) {
      const res = await shipstation(app, c.username, 'wrong-password', address);
      expect(res.status, `failure ${i}`).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toBe('Basic realm="ShipStation"');
    }
    const throttled = await shipstation(app, c.username, 'wrong-password', address);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('Content-Type')).toMatch(/^text\/plain/);
    const retryAfter = Number(throttled.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);
    expect(throttled.text).toMatch(/too many failed attempts/);
    expect(throttled.text).not.toContain('wrong-password');
    // The same through SS-Password: it is the same pair.
    const viaQuery = await app.request(`/shipstation?${exportQuery()}&SS-UserName=${encodeURIComponent(c.username)}&SS-Password=nope`, { headers: { 'X-Forwarded-For': address } });
    expect(viaQuery.status).toBe(429);

    // Another username from the same address, and the same username from another address: 401 as usual.
    expect((await shipstation(app, other.username, 'wrong-password', address)).status).toBe(401);
    expect((await shipstation(app, c.username, 'wrong-password', '198.51.100.11')).status).toBe(401);

    // The correct password from the throttled pair gets through at once, and clears the pair's counter.
    const ok = await shipstation(app, c.username, c.password, address);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('Content-Type')).toMatch(/^text\/xml/);
    expect(await counterOf(c.username, address)).toBeNull();
    expect((await shipstation(app, c.username, 'wrong-password', address)).status).toBe(401);
  });

  it('an unknown username counts like a wrong password (the same answers, the same throttle)', async () => {
    const address = '198.51.100.20';
    const answers: number[] = [];
    for (let i = 0; i <= LIMIT; i++) answers.push((await shipstation(app, 'ss-nobody-00000000', 'whatever', address)).status);
    expect(answers).toEqual([...Array(LIMIT).fill(401), 429]);
  });

  it('spraying made-up usernames from one address grows one counter, not a row per name, and is throttled as one', async () => {
    const address = '198.51.100.21';
    const answers: number[] = [];
    for (let i = 0; i <= LIMIT; i++) answers.push((await shipstation(app, `ss-made-up-${i}`, 'whatever', address)).status);
    expect(answers).toEqual([...Array(LIMIT).fill(401), 429]);
    const rows = await db.select().from(credentialFailures).where(eq(credentialFailures.clientAddress, address));
    expect(rows.map((r) => [r.identity, r.failures])).toEqual([['(unknown username)', LIMIT + 1]]);
    // A real connection from that address keeps its own counter: its owner is not locked out by the spray.
    const c = await newConnection();
    expect((await shipstation(app, c.username, 'wrong-password', address)).status).toBe(401);
    expect((await shipstation(app, c.username, c.password, address)).status).toBe(200);
  });

  it('two API instances sharing the database share the counters', async () => {
    const c = await newConnection();
    const address = '198.51.100.30';
    expect((await shipstation(app, c.username, 'bad', address)).status).toBe(401);
    expect((await shipstation(twin, c.username, 'bad', address)).status).toBe(401);
    expect((await shipstation(app, c.username, 'bad', address)).status).toBe(401);
    expect((await shipstation(twin, c.username, 'bad', address)).status).toBe(429);
    expect((await counterOf(c.username, address))!.failures).toBe(LIMIT + 1);
    expect((await shipstation(twin, c.username, c.password, address)).status).toBe(200);
    expect(await counterOf(c.username, address)).toBeNull();
  });

  it('once the window has ended, the count starts again', async () => {
    const c = await newConnection();
    const address = '198.51.100.40';
    for (let i = 0; i <= LIMIT; i++) await shipstation(app, c.username, 'bad', address);
    expect((await shipstation(app, c.username, 'bad', address)).status).toBe(429);
    // The window began longer ago than WINDOW_MS (moved back in the database: its clock is the one used).
    await db.execute(
      sql`update credential_failures set window_started_at = now() - ${WINDOW_MS + 1000}::integer * interval '1 millisecond' where identity = ${c.username} and client_address = ${address}`,
    );
    expect((await shipstation(app, c.username, 'bad', address)).status).toBe(401);
    expect((await counterOf(c.username, address))!.failures).toBe(1);
  });

  it('bearer API keys are throttled per address as "(api key)"; a valid key always gets through and clears the counter', async () => {
    const merchant = await stack.newMerchant('bearer');
    const address = '203.0.113.5';
    const headers = { 'X-Forwarded-For': address };
    for (let i = 1; i <= LIMIT; i++) expect((await call(app, 'GET', '/api/orders', { token: `ssk_guess-${i}`, headers })).status).toBe(401);
    const throttled = await call(app, 'GET', '/api/orders', { token: 'ssk_guess-x', headers });
    expect(throttled.status).toBe(429);
    expect(throttled.body.error).toBe('too_many_failures');
    expect(throttled.body.message).toMatch(/try again in \d+ s/);
    expect(Number(throttled.headers.get('Retry-After'))).toBeGreaterThan(0);
    // Another address is unaffected.
    expect((await call(app, 'GET', '/api/orders', { token: 'ssk_guess-y', headers: { 'X-Forwarded-For': '203.0.113.6' } })).status).toBe(401);
    // The valid key from the throttled address: 200, and the address's counter is gone.
    expect((await call(twin, 'GET', '/api/orders', { token: merchant.apiKey, headers })).status).toBe(200);
    expect(await counterOf('(api key)', address)).toBeNull();
  });

  it('the admin token is throttled per address as "(admin)"; the right token always gets through', async () => {
    const address = '203.0.113.50';
    const headers = { 'X-Forwarded-For': address };
    for (let i = 1; i <= LIMIT; i++) expect((await call(app, 'GET', '/api/ops/orders', { token: `wrong-admin-token-${i}`, headers })).status).toBe(403);
    const throttled = await call(app, 'GET', '/api/ops/orders', { token: 'wrong-admin-token-x', headers });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('Retry-After')).toMatch(/^\d+$/);
    expect((await call(app, 'GET', '/api/ops/orders', { token: ADMIN, headers })).status).toBe(200);
    expect((await call(app, 'POST', '/api/admin/merchants', { token: ADMIN, headers, json: { id: uniqueId('adm'), name: 'x' } })).status).toBe(201);
  });

  it('stores no attacker-chosen username: a made-up one is counted as "(unknown username)"', async () => {
    const long = `ss-${'x'.repeat(500)}`;
    expect((await shipstation(app, long, 'p', '198.51.100.60')).status).toBe(401);
    expect(await counterOf(long.slice(0, MAX_IDENTITY_LENGTH), '198.51.100.60')).toBeNull();
    expect(await counterOf(UNKNOWN_USERNAME_IDENTITY, '198.51.100.60')).not.toBeNull();
  });

  it('the hourly maintenance workflow deletes counters whose window ended long ago, and keeps live ones', async () => {
    await db.insert(credentialFailures).values([
      { identity: 'old-user', clientAddress: '198.51.100.70', failures: 50, windowStartedAt: new Date(Date.now() - 2 * 86_400_000).toISOString() },
      { identity: 'live-user', clientAddress: '198.51.100.70', failures: 2, windowStartedAt: new Date().toISOString() },
    ]);
    await stack.client.workflow.execute('purgeRequestLogWorkflow', { taskQueue: stack.taskQueue, workflowId: uniqueId('purge-test'), args: [30] });
    expect(await counterOf('old-user', '198.51.100.70')).toBeNull();
    expect(await counterOf('live-user', '198.51.100.70')).not.toBeNull();
    expect(await purgeExpiredFailures(db)).toBe(0);
  });

  it('on a real socket the pair is the socket address; X-Forwarded-For is ignored unless proxies are trusted', async () => {
    const c = await newConnection();
    const config = loadConfig({ PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: 'silent', AUTH_FAILURE_LIMIT: String(LIMIT) });
    const server = await startApiServer({ config, db, temporal: stack.client, logger: pino({ level: 'silent' }), secretDigest: stack.secretDigest });
    try {
      const attempt = async (password: string, forwardedFor: string) => {
        const res = await fetch(`${server.url}/shipstation?${exportQuery()}`, { headers: { Authorization: basic(c.username, password), 'X-Forwarded-For': forwardedFor } });
        await res.text();
        return res.status;
      };
      const statuses: number[] = [];
      // A caller rotating a spoofed X-Forwarded-For still counts against its socket address.
      for (let i = 0; i <= LIMIT; i++) statuses.push(await attempt('bad', `192.0.2.${i}`));
      expect(statuses).toEqual([...Array(LIMIT).fill(401), 429]);
      const rows = await db.select().from(credentialFailures).where(eq(credentialFailures.identity, c.username));
      expect(rows.map((r) => r.clientAddress)).toEqual([expect.stringMatching(/127\.0\.0\.1$/)]);
      expect(await attempt(c.password, '192.0.2.99')).toBe(200);
    } finally {
      await server.stop(1000);
    }
  });
});

// ---- secrets never logged, never stored in clear ------------------------------------------------

describe('secrets in logs and tables', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ db: DATABASE_KINDS.includes('postgres') ? 'postgres' : 'pglite' });
  });
  afterAll(() => stack?.close());

  it('no API key, password or admin token appears in anything the API logs or in any text of any table', async () => {
    const captured = capturingLogger();
    const app = stack.app({ adminToken: ADMIN, logger: captured.logger, authThrottle: { maxFailures: 2, windowMs: 60_000 } });
    const secrets: string[] = [ADMIN];
    const id = uniqueId('logs');

    const created = await call(app, 'POST', '/api/admin/merchants', { token: ADMIN, json: { id, name: 'Logs' } });
    expect(created.status).toBe(201);
    const firstKey = created.body.apiKey as string;
    const rotated = await call(app, 'POST', `/api/admin/merchants/${id}/rotate-key`, { token: ADMIN });
    const apiKey = rotated.body.apiKey as string;
    secrets.push(firstKey, apiKey);

    const connection = await call(app, 'POST', `/api/admin/merchants/${id}/connections`, { token: ADMIN });
    expect(connection.status).toBe(201);
    const { username, password: firstPassword } = connection.body as { username: string; password: string };
    const again = await call(app, 'POST', `/api/admin/connections/${encodeURIComponent(username)}/rotate-password`, { token: ADMIN });
    const password = again.body.password as string;
    secrets.push(firstPassword, password);
    // The push target's signing secret is stored in clear on purpose (it is needed to sign), so it is not in `secrets`.

    // Orders, and ShipStation calls: good and bad, Basic and SS-Password, export and shipnotify.
    const order = await call(app, 'POST', '/api/orders', { token: apiKey, json: orderPayload({ paid: true }) });
    expect(order.status).toBe(201);
    const fetcher = (url: string, init: RequestInit) => app.request(url, init);
    for (const credentials of ['basic', 'query', 'both'] as const) {
      const sim = new ShipStationSimulator({ fetch: fetcher, url: connection.body.url, username, password, credentials });
      expect((await sim.poll()).ok).toBe(true);
      expect((await sim.ship(order.body.orderNumber)).status).toBe(200);
      const stale = new ShipStationSimulator({ fetch: fetcher, url: connection.body.url, username, password: firstPassword, credentials });
      expect((await stale.exportPage(shipStationDate(new Date(Date.now() - 3_600_000)), shipStationDate(new Date()), 1)).status).toBeGreaterThanOrEqual(401);
      expect((await stale.ship(order.body.orderNumber)).status).toBeGreaterThanOrEqual(401);
    }
    // Bad bearer keys (the retired one among them) and wrong admin tokens, past the throttle limit.
    for (const token of [firstKey, `${apiKey}x`, firstKey]) expect((await call(app, 'GET', '/api/orders', { token })).status).toBeGreaterThanOrEqual(401);
    for (const token of [firstKey, apiKey, password, `${ADMIN}x`]) expect((await call(app, 'GET', '/api/ops/orders', { token })).status).toBeGreaterThanOrEqual(403);
    // A secret sent where a username goes, and in a path, still goes nowhere.
    expect((await app.request(`/shipstation?action=export&SS-UserName=x&SS-Password=${encodeURIComponent(password)}`)).status).toBeGreaterThanOrEqual(401);

    const logs = captured.text();
    expect(logs).toContain('"msg":"request"');
    expect(logs).toContain('"msg":"shipstation"');
    for (const secret of secrets) expect(logs, 'a secret was logged').not.toContain(secret);

    const dump = await dumpAllTables(stack.database.db);
    expect(dump.some((d) => d.table.endsWith('connection_requests'))).toBe(true);
    expect(dump.some((d) => d.table.endsWith('shipment_notices') && d.row.includes('SS-Password=***'))).toBe(true);
    for (const secret of secrets) {
      const found = dump.find((d) => d.row.includes(secret));
      expect(found?.table, 'a secret is stored in clear').toBeUndefined();
      // Nor its unkeyed digest (what a leaked table would let anyone test guesses against).
      expect(dump.find((d) => d.row.includes(legacyDigest(secret)))?.table).toBeUndefined();
    }
  });
});

// ---- headers and body limits --------------------------------------------------------------------

describe('answers: security headers and body limits', () => {
  let stack: TestStack;
  let app: TestApp;
  beforeAll(async () => {
    stack = await startTestStack();
    app = stack.app({ adminToken: ADMIN, maxBodyBytes: 2048, shipstation: { maxNoticeBytes: 8192 } });
  });
  afterAll(() => stack?.close());

  const expectSecurityHeaders = (headers: Headers, what: string, privateAnswer: boolean) => {
    expect(headers.get('X-Content-Type-Options'), what).toBe('nosniff');
    expect(headers.get('X-Frame-Options'), what).toBe('DENY');
    expect(headers.get('Referrer-Policy'), what).toBe('no-referrer');
    expect(headers.get('Content-Security-Policy'), what).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(headers.get('Cross-Origin-Resource-Policy'), what).toBe('same-origin');
    expect(headers.get('Strict-Transport-Security'), what).toMatch(/^max-age=\d+/);
    if (privateAnswer) expect(headers.get('Cache-Control'), what).toBe('no-store');
    else expect(headers.get('Cache-Control'), what).toBeNull();
  };

  it('every kind of answer carries them: JSON, plain text, XML, Prometheus text, 404s and errors; content types unchanged', async () => {
    const merchant = await stack.newMerchant('hdr');
    const c = await call(app, 'POST', `/api/admin/merchants/${merchant.id}/connections`, { token: ADMIN });
    const auth = { Authorization: basic(c.body.username, c.body.password) };
    const cases: [string, string, RequestInit, number, RegExp, boolean][] = [
      ['health JSON', '/healthz', {}, 200, /^application\/json/, false],
      ['OpenAPI JSON', '/openapi.json', {}, 200, /^application\/json/, false],
      ['metrics text', '/metrics', {}, 200, /^text\/plain/, false],
      ['unknown path 404', '/no/such/path', {}, 404, /^application\/json/, false],
      ['API 401', '/api/orders', {}, 401, /^application\/json/, true],
      ['API 200', '/api/orders', { headers: { Authorization: `Bearer ${merchant.apiKey}` } }, 200, /^application\/json/, true],
      ['API 404', '/api/orders/NOPE-1', { headers: { Authorization: `Bearer ${merchant.apiKey}` } }, 404, /^application\/json/, true],
      ['admin 409', `/api/admin/merchants/${merchant.id}/connections`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}` } }, 409, /^application\/json/, true],
      ['ShipStation XML', `/shipstation?${exportQuery()}`, { headers: auth }, 200, /^text\/xml; charset=utf-8$/, true],
      ['ShipStation 401 text', `/shipstation?${exportQuery()}`, {}, 401, /^text\/plain; charset=utf-8$/, true],
      ['ShipStation 400 text', '/shipstation?action=nope', { headers: auth }, 400, /^text\/plain; charset=utf-8$/, true],
      ['ShipStation 404 text', '/shipstation?action=shipnotify&order_number=NOPE&carrier=USPS', { method: 'POST', headers: auth }, 404, /^text\/plain; charset=utf-8$/, true],
    ];
    for (const [what, url, init, status, type, privateAnswer] of cases) {
      const res = await app.request(url, init);
      await res.text();
      expect(res.status, what).toBe(status);
      expect(res.headers.get('Content-Type'), what).toMatch(type);
      expectSecurityHeaders(res.headers, what, privateAnswer);
    }
  });

  it('every route refuses a body over MAX_BODY_BYTES with 413 and a plain reason, before anything else', async () => {
    const big = 'x'.repeat(4096);
    const merchant = await stack.newMerchant('big');
    const targets: [string, string, Record<string, string>][] = [
      ['POST', '/healthz', {}],
      ['POST', '/readyz', {}],
      ['POST', '/metrics', {}],
      ['POST', '/openapi.json', {}],
      ['POST', '/no/such/path', {}],
      ['PUT', '/', {}],
      ['POST', '/api/orders', { Authorization: `Bearer ${merchant.apiKey}`, 'Content-Type': 'application/json' }],
      ['PATCH', '/api/orders/X-1', { Authorization: `Bearer ${merchant.apiKey}`, 'Content-Type': 'application/json' }],
      ['POST', '/api/admin/merchants', { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }],
      ['POST', '/api/admin/merchants', {}], // unauthenticated: still 413, no credential work on a huge body
      ['POST', '/api/no/such/route', {}],
    ];
    for (const [method, url, headers] of targets) {
      for (const withLength of [false, true]) {
        const res = await app.request(url, { method, headers: { ...headers, ...(withLength ? { 'Content-Length': String(big.length) } : {}) }, body: big });
        const text = await res.text();
        const what = `${method} ${url}${withLength ? ' (Content-Length)' : ''}`;
        expect(res.status, what).toBe(413);
        expect(JSON.parse(text), what).toEqual({ error: 'payload_too_large', message: 'the body is larger than 2048 bytes' });
        expectSecurityHeaders(res.headers, what, url.startsWith('/api'));
      }
    }
    // Under the limit the same routes answer as usual.
    expect((await app.request('/no/such/path', { method: 'POST', body: 'small' })).status).toBe(404);
  });

  it('the ShipStation endpoint keeps its own limit (SHIPNOTIFY_MAX_BYTES) and its plain-text answers', async () => {
    const merchant = await stack.newMerchant('bigss');
    const c = await call(app, 'POST', `/api/admin/merchants/${merchant.id}/connections`, { token: ADMIN });
    const auth = { Authorization: basic(c.body.username, c.body.password) };
    const notice = (size: number) => `<?xml version="1.0"?><ShipNotice><OrderNumber>NOPE-2</OrderNumber><InternalNotes>${'n'.repeat(size)}</InternalNotes></ShipNotice>`;
    // Over the global limit (2048) but under the ShipStation one (8192): read and answered (unknown order).
    const mid = await app.request('/shipstation?action=shipnotify&carrier=USPS', { method: 'POST', headers: { ...auth, 'Content-Type': 'application/xml' }, body: notice(4000) });
    expect(mid.status).toBe(404);
    expect(await mid.text()).toContain('NOPE-2');
    const over = await app.request('/shipstation?action=shipnotify&carrier=USPS', { method: 'POST', headers: { ...auth, 'Content-Type': 'application/xml' }, body: notice(9000) });
    expect(over.status).toBe(413);
    expect(over.headers.get('Content-Type')).toMatch(/^text\/plain/);
    expect(await over.text()).toBe('the body is larger than 8192 bytes');
    expectSecurityHeaders(over.headers, 'shipnotify 413', true);
  });

  it('METRICS_PORT serves /metrics on a port of its own, and the public port then has none', async () => {
    const metricsPort = await freePort();
    const config = loadConfig({ PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: 'silent', METRICS_PORT: String(metricsPort) });
    const server = await startApiServer({ config, db: stack.database.db, temporal: stack.client, logger: pino({ level: 'silent' }), secretDigest: stack.secretDigest });
    try {
      expect(server.metricsUrl).toBe(`http://127.0.0.1:${metricsPort}/metrics`);
      const scraped = await fetch(server.metricsUrl);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('http_requests_total');
      const publicPort = await fetch(`${server.url}/metrics`);
      expect(publicPort.status).toBe(404);
      await publicPort.text();
      // Nothing else answers on the metrics port.
      expect((await fetch(`http://127.0.0.1:${metricsPort}/api/orders`)).status).toBe(404);
    } finally {
      await server.stop(1000);
    }
  });

  it('a real socket gets the headers and the limit too (Content-Length and chunked bodies)', async () => {
    const config = loadConfig({ PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: 'silent', MAX_BODY_BYTES: '2048' });
    const server = await startApiServer({ config, db: stack.database.db, temporal: stack.client, logger: pino({ level: 'silent' }), secretDigest: stack.secretDigest });
    const base = server.url;
    try {
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      await health.text();
      expectSecurityHeaders(health.headers, 'socket /healthz', false);
      const sized = await fetch(`${base}/healthz`, { method: 'POST', body: 'y'.repeat(5000) });
      expect(sized.status).toBe(413);
      expect(((await sized.json()) as { error: string }).error).toBe('payload_too_large');
      const chunks = new ReadableStream({
        start(controller) {
          for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode('z'.repeat(1000)));
          controller.close();
        },
      });
      const chunked = await fetch(`${base}/metrics`, { method: 'POST', body: chunks, duplex: 'half' } as RequestInit);
      expect(chunked.status).toBe(413);
      await chunked.text();
    } finally {
      await server.stop(1000);
    }
  });
});
