/**
 * Property-based fuzzing of the ShipStation endpoint (`/shipstation?action=export|shipnotify`) over
 * real HTTP, against the real stack: a worker on the shared Temporal dev server, PostgreSQL (PGlite
 * when no PostgreSQL is reachable outside CI), the API served by @hono/node-server on 127.0.0.1.
 *
 * The requests and the answer each must get come from test/support/shipstation-fuzz.ts. Properties:
 * - every answer is the status the protocol calls for: 200 exactly where the input is valid, else the
 *   4xx it names (429 also passes for a refused request: credential throttling may answer first);
 *   never a 5xx; refusals carry a plain-text, non-empty reason and no stack trace or source path;
 * - an accepted notice is durable: its shipment reaches the read model and its raw notice is kept;
 * - refused requests change nothing: every table holds what it held, except that the request log
 *   gains exactly one row, with the status answered, per call that authenticated as a known connection
 *   (its earlier rows untouched), and the credential throttle's own counters (credential_failures)
 *   count the failed attempts;
 * - the process stays up (/healthz and /readyz afterwards) and its memory stays bounded.
 *
 * Size: FUZZ_RUNS (default 1000, about 15 s) cases in all, a quarter of them valid; FUZZ_SEED replays a run.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { serve, type ServerType } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer } from '../api/server';
import type { Db } from '../db/client';
import { loadConfig } from '../runtime/config';
import { PROJECT_ROOT } from '../tooling/project-root';
import { call, sleep } from './support/api';
import { DATABASE_KINDS } from './support/database';
import { orderPayload } from './support/orders';
import { shipStationCase, type FuzzCase, type FuzzConnection, type FuzzRequest, type FuzzWorld } from './support/shipstation-fuzz';
import { startTestStack, type TestStack } from './support/stack';

const RUNS = Math.max(8, Number(process.env.FUZZ_RUNS ?? 1000));
const VALID_RUNS = Math.max(4, Math.round(RUNS / 4));
const HOSTILE_RUNS = RUNS - VALID_RUNS;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
/** Generous per-case time (a 256 KiB notice, a workflow signal) on a 2-core machine shared with other work. */
const timeFor = (runs: number) => 120_000 + runs * 500;

const ADMIN = 'admin-token-for-the-shipstation-fuzzer';
const MAX_NOTICE_BYTES = loadConfig({}).shipstation.maxNoticeBytes;
/** Tables a refused call legitimately writes to: its connection's request log, the throttle's failure counters. */
const RECORDS_OF_REFUSED_CALLS = new Set(['connection_requests', 'credential_failures']);
/**
 * Memory, after a forced GC. The JS heap must come back to where it was over the whole run. RSS is
 * bounded over the hostile phase alone: refused requests keep nothing, so what it grows by there is
 * allocator slack from their (up to 256 KiB) bodies. Accepted notices legitimately grow RSS with the
 * data they record: the in-process worker keeps each order's workflow, hundreds of shipments each by
 * the end of a large run (measured: +35-50 MiB over 1000 cases, +220 MiB over 10000), so over the
 * whole run RSS is reported, not bounded.
 */
const MAX_HEAP_GROWTH_BYTES = 64 * 1024 * 1024;
const MAX_HOSTILE_RSS_GROWTH_BYTES = 128 * 1024 * 1024;

let stack: TestStack;
let server: ServerType;
let port: number;
let world: FuzzWorld;
let connectionIds: { active: string; disabled: string };
const memory: { start?: NodeJS.MemoryUsage; beforeHostile?: NodeJS.MemoryUsage; afterHostile?: NodeJS.MemoryUsage } = {};
const figures = { valid: new Map<number, number>(), hostile: new Map<number, number>(), broken: new Map<string, number>(), ms: { valid: 0, hostile: 0 } };

// ---- I/O helpers --------------------------------------------------------------------------------------

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

/** Sends one request over a real socket, exactly as built (raw target, chosen framing). */
function send(request: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== null) {
      if (request.chunked) headers['Transfer-Encoding'] = 'chunked';
      else headers['Content-Length'] = String(request.body.length);
    }
    let answered = false;
    // A connection of its own per request: after a refusal whose body was never read (413) the server
    // may close a kept-alive connection, and a reused one would fail the next request, not this one.
    const outgoing = http.request({ host: '127.0.0.1', port, method: request.method, path: request.target, headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // A refusal (413) may arrive while the body is still being written; what matters is the answer.
    outgoing.on('error', (error) => (answered ? undefined : reject(error)));
    outgoing.setTimeout(60_000, () => outgoing.destroy(new Error('no answer within 60 s')));
    outgoing.end(request.body ?? undefined);
  });
}

/** Sends a case; a transport failure (no answer at all) is reported with the case that caused it. */
async function exchange(c: FuzzCase): Promise<Answer> {
  try {
    return await send(c.request);
  } catch (error) {
    const answer = { status: 0, contentType: '', text: '' };
    throw new Error(describeFailure(c, answer, [`no answer: ${error instanceof Error ? error.message : String(error)}`]));
  }
}

/** A stack frame, or a source file with a line number: what an unhandled error would leak. */
const LEAK = /^\s+at\s|(?:\/|\\|file:\/\/)[^\s"'()]+\.(?:[cm]?[jt]s)(?::\d+)|node_modules/m;

/** Everything wrong with an answer, as sentences (empty = fine). */
function problemsWith(c: FuzzCase, answer: Answer): string[] {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`server error ${answer.status}`);
  const throttled = answer.status === 429 && c.expected >= 400 && c.expected < 500;
  if (answer.status !== c.expected && !throttled) problems.push(`expected ${c.expected}, answered ${answer.status}`);
  if (LEAK.test(answer.text) || answer.text.includes(PROJECT_ROOT)) problems.push('the answer shows a stack trace or a source path');
  // HEAD answers carry no body at all (HTTP), so there is no reason to check.
  if (c.request.method !== 'HEAD') {
    if (answer.status >= 400) {
      if (!/^text\/plain/i.test(answer.contentType)) problems.push(`the reason is not plain text (${answer.contentType || 'no Content-Type'})`);
      if (answer.text.trim() === '') problems.push('the reason is empty');
    } else if (answer.status === 200 && c.label.startsWith('export')) {
      if (!/^text\/xml/i.test(answer.contentType) || !/^<\?xml[^>]*\?>\s*<Orders pages="\d+"/.test(answer.text)) problems.push('the export page is not an <Orders> document');
    } else if (answer.status === 200 && answer.text !== 'OK') problems.push(`a recorded notice answers "${answer.text.slice(0, 100)}", not OK`);
  }
  return problems;
}

function describeFailure(c: FuzzCase, answer: Answer, problems: string[]): string {
  const body = c.request.body === null ? '(none)' : `${c.request.body.length} bytes${c.request.chunked ? ' chunked' : ''}: ${JSON.stringify(c.request.body.subarray(0, 300).toString('latin1'))}`;
  return [
    problems.join('; '),
    `case: ${c.label}`,
    `request: ${c.request.method} ${c.request.target.slice(0, 600)}`,
    `headers: ${JSON.stringify(c.request.headers)}`,
    `body: ${body}`,
    `answer: ${answer.status} ${answer.contentType} ${JSON.stringify(answer.text.slice(0, 400))}`,
  ].join('\n');
}

const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as T[];

/** Row count and a digest of the contents of every table of the read model, by name. */
async function tableDigests(db: Db): Promise<Record<string, string>> {
  const tables = rowsOf<{ name: string }>(
    await db.execute(sql`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`),
  );
  const digests: Record<string, string> = {};
  for (const { name } of tables) {
    const [row] = rowsOf<{ rows: number; digest: string | null }>(
      await db.execute(sql`select count(*)::int as rows, md5(string_agg(t::text, E'\n' order by t::text)) as digest from ${sql.identifier(name)} t`),
    );
    digests[name] = `${row?.rows ?? 0} rows, ${row?.digest ?? '-'}`;
  }
  return digests;
}

/** The digests once nothing moves any more (signals of accepted notices are applied after their answer). */
async function settledDigests(db: Db): Promise<Record<string, string>> {
  let previous = await tableDigests(db);
  for (let attempt = 0; attempt < 60; attempt++) {
    await sleep(1000);
    const current = await tableDigests(db);
    if (JSON.stringify(current) === JSON.stringify(previous)) return current;
    previous = current;
  }
  throw new Error('the read model kept changing for a minute');
}

async function requestLog(db: Db, afterId: number) {
  return rowsOf<{ id: number; connection_id: string; status: number }>(
    await db.execute(sql`select id, connection_id, status from connection_requests where id > ${afterId} order by id`),
  );
}

async function requestLogDigest(db: Db, upToId: number): Promise<string> {
  const [row] = rowsOf<{ digest: string | null }>(await db.execute(sql`select md5(string_agg(t::text, E'\n' order by t.id)) as digest from connection_requests t where t.id <= ${upToId}`));
  return row?.digest ?? '';
}

/** A forced collection, so the heap measured is what is still referenced. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function memoryAfterGc(): NodeJS.MemoryUsage {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage();
}

const tally = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);
const show = <K extends number | string>(map: Map<K, number>) => [...map].sort(([a], [b]) => (a < b ? -1 : 1)).map(([s, n]) => `${s}: ${n}`).join(', ');
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

// ---- the stack ----------------------------------------------------------------------------------------

beforeAll(async () => {
  const kind = DATABASE_KINDS.includes('postgres') ? 'postgres' : 'pglite';
  stack = await startTestStack({ db: kind });
  const app = stack.app({ adminToken: ADMIN, shipstation: { maxNoticeBytes: MAX_NOTICE_BYTES } });
  ({ server, port } = await new Promise<{ server: ServerType; port: number }>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => resolve({ server: started, port: info.port }));
  }));

  const connection = async (merchantId: string): Promise<FuzzConnection & { id: string }> => {
    const res = await call(app, 'POST', `/api/admin/merchants/${merchantId}/connections`, { token: ADMIN });
    expect(res.status, res.text).toBe(201);
    const [row] = rowsOf<{ id: string }>(await stack.database.db.execute(sql`select id from connections where username = ${res.body.username}`));
    return { username: res.body.username, password: res.body.password, id: row!.id };
  };
  const orders = async (merchant: { id: string; apiKey: string }, count: number) => {
    const created = [];
    for (let i = 0; i < count; i++) {
      const res = await call(app, 'POST', '/api/orders', { token: merchant.apiKey, json: orderPayload() });
      expect(res.status, res.text).toBe(201);
      created.push({ orderId: res.body.orderId as string, orderNumber: res.body.orderNumber as string });
    }
    return created;
  };

  const [active, disabled, target, foreign] = await Promise.all(['fz-active', 'fz-disabled', 'fz-target', 'fz-foreign'].map((p) => stack.newMerchant(p)));
  const activeConnection = await connection(active!.id);
  const disabledConnection = await connection(disabled!.id);
  const targetConnection = await connection(target!.id);
  await connection(foreign!.id);
  const disabling = await call(app, 'POST', `/api/admin/connections/${disabledConnection.username}/disable`, { token: ADMIN, json: { reason: 'fuzzing a disabled connection' } });
  expect(disabling.status).toBe(200);

  world = {
    maxNoticeBytes: MAX_NOTICE_BYTES,
    active: activeConnection,
    disabled: disabledConnection,
    target: targetConnection,
    orders: await orders(active!, 4),
    foreignOrders: await orders(foreign!, 2),
  };
  connectionIds = { active: activeConnection.id, disabled: disabledConnection.id };

  // Warm every path once (JIT, pools, the worker's caches) before memory is measured.
  for (const c of fc.sample(shipStationCase(world, 'valid'), { numRuns: 10, seed: 1 })) await exchange(c);
  for (const c of fc.sample(shipStationCase(world, 'hostile'), { numRuns: 30, seed: 1 })) await exchange(c);
  memory.start = memoryAfterGc();
}, 180_000);

afterAll(async () => {
  if (server) await closeServer(server, 2000);
  await stack?.close();
}, 120_000);

// ---- the properties -----------------------------------------------------------------------------------

// ---- what the fuzzer found, kept as examples ------------------------------------------------------------

describe('regressions found by the fuzzer', () => {
  const enc = encodeURIComponent;
  const basicOf = (c: FuzzConnection) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  const handmade = (label: string, method: string, target: string, expected: number, body: string | null = null, headers: Record<string, string> = {}): FuzzCase => ({
    label,
    request: { method, target, headers: { Authorization: basicOf(world.active), ...headers }, body: body === null ? null : Buffer.from(body), chunked: false },
    expected,
    loggedAs: 'active',
  });
  const check = async (c: FuzzCase) => {
    const answer = await exchange(c);
    const problems = problemsWith(c, answer);
    expect(problems, describeFailure(c, answer, problems)).toEqual([]);
    return answer;
  };
  const lastLogEntry = async () => {
    const [row] = rowsOf<{ action: string; status: number; order_number: string | null; detail: Record<string, unknown> | null }>(
      await stack.database.db.execute(sql`select action, status, order_number, detail from connection_requests where connection_id = ${connectionIds.active} order by id desc limit 1`),
    );
    return row;
  };

  it('an order_number holding a NUL names no order: 404 (was 500, the lookup failed in the database), and the call is logged', async () => {
    const order = world.orders[0]!;
    await check(handmade('shipnotify nul order_number', 'POST', `/shipstation?action=shipnotify&order_number=${enc(order.orderNumber)}%00&tracking_number=NUL1`, 404));
    // The log entry quotes the order number; its NUL used to make the database refuse the whole entry.
    expect(await lastLogEntry()).toMatchObject({ action: 'shipnotify', status: 404, order_number: order.orderNumber });
  });

  it('a NUL in the action or a date still leaves the call in the request log (was: the entry was refused)', async () => {
    await check(handmade('export nul action', 'GET', '/shipstation?action=%00export', 400));
    expect(await lastLogEntry()).toMatchObject({ action: 'export', status: 400 });
    await check(handmade('export nul date', 'GET', '/shipstation?action=export&start_date=01%2F01%2F2026%00&end_date=01%2F02%2F2026', 400));
    expect(await lastLogEntry()).toMatchObject({ action: 'export', status: 400 });
  });

  it('a window in year 0 is refused with 400 (was 500: PostgreSQL has no year 0)', async () => {
    const answer = await check(handmade('export year 0', 'GET', '/shipstation?action=export&start_date=01%2F01%2F0000+00%3A00&end_date=01%2F02%2F2026+00%3A00', 400));
    expect(answer.text).toMatch(/year 0 does not exist/);
    await check(handmade('export year 1', 'GET', '/shipstation?action=export&start_date=01%2F01%2F0001+00%3A00&end_date=12%2F31%2F9999+23%3A59', 200));
  });

  it('a LabelCreateDate in year 0 is left out with a warning and the shipment reaches the read model (was: its projection failed for ever)', async () => {
    const order = world.orders[1]!;
    const body = `<ShipNotice><OrderNumber>${order.orderNumber}</OrderNumber><TrackingNumber>YEARZERO1</TrackingNumber><LabelCreateDate>01/01/0000 00:00</LabelCreateDate><ShipDate>01/01/0000</ShipDate></ShipNotice>`;
    await check(handmade('shipnotify label date year 0', 'POST', '/shipstation?action=shipnotify', 200, body, { 'Content-Type': 'text/xml' }));
    expect(JSON.stringify((await lastLogEntry())?.detail)).toMatch(/LabelCreateDate.*year 0 does not exist/);
    let rows: { label_created_at: string | null; ship_date: string | null }[] = [];
    for (let waited = 0; rows.length === 0 && waited < 20_000; waited += 200) {
      await sleep(200);
      rows = rowsOf(await stack.database.db.execute(sql`select label_created_at, ship_date from shipments where order_id = ${order.orderId} and tracking_number = 'YEARZERO1'`));
    }
    expect(rows).toEqual([{ label_created_at: null, ship_date: null }]);
  });

  it('a notice with a NUL in a note is recorded and its raw copy kept (was: the copy was refused by the database and lost)', async () => {
    const order = world.orders[2]!;
    const body = `<ShipNotice><OrderNumber>${order.orderNumber}</OrderNumber><TrackingNumber>NULNOTE1</TrackingNumber><InternalNotes>left\u0000right</InternalNotes></ShipNotice>`;
    await check(handmade('shipnotify nul in a note', 'POST', '/shipstation?action=shipnotify', 200, body, { 'Content-Type': 'text/xml' }));
    const kept = rowsOf<{ body: string }>(await stack.database.db.execute(sql`select body from shipment_notices where order_id = ${order.orderId} and shipment_key = 'trk:NULNOTE1'`));
    expect(kept.map((k) => k.body)).toEqual([body.replace('\u0000', '')]);
  });

  it('a tracking number holding a NUL is recorded under the key without it (was: 500, the notice, its fact and its copy were lost)', async () => {
    const order = world.orders[2]!;
    const body = `<ShipNotice><OrderNumber>${order.orderNumber}</OrderNumber><TrackingNumber>NULTRK\u00001</TrackingNumber></ShipNotice>`;
    await check(handmade('shipnotify nul in the tracking number', 'POST', '/shipstation?action=shipnotify', 200, body, { 'Content-Type': 'text/xml' }));
    await check(handmade('shipnotify nul in the tracking query', 'POST', `/shipstation?action=shipnotify&order_number=${enc(order.orderNumber)}&tracking_number=NULTRK%002`, 200, ''));
    const kept = rowsOf<{ shipment_key: string }>(await stack.database.db.execute(sql`select shipment_key from shipment_notices where order_id = ${order.orderId} and shipment_key like 'trk:NULTRK%' order by 1`));
    expect(kept.map((k) => k.shipment_key)).toEqual(['trk:NULTRK1', 'trk:NULTRK2']);
  });

  it('a username holding a NUL is an unknown user: 401 with a plain reason', async () => {
    const c = handmade('nul username', 'GET', `/shipstation?action=export&SS-UserName=${enc(world.active.username)}%00&SS-Password=${enc(world.active.password)}`, 401);
    await check({ ...c, request: { ...c.request, headers: {} }, loggedAs: null });
  });

  it('a ShipNotice nested deeper than the XML parser allows (100 levels) is refused with 400', async () => {
    const body = `<ShipNotice><OrderNumber>${world.orders[0]!.orderNumber}</OrderNumber>${'<a>'.repeat(200)}${'</a>'.repeat(200)}</ShipNotice>`;
    const answer = await check(handmade('deep notice', 'POST', '/shipstation?action=shipnotify', 400, body));
    expect(answer.text).toMatch(/nested/);
  });

  it('bytes above 0x7F in the request line are not HTTP: Node answers 400 before the app, and the app stays up', async () => {
    // Written raw (latin1) on the request line, which HTTP forbids; ShipStation percent-encodes.
    const answer = await send({ method: 'GET', target: '/shipstation?action=export&x=\u00e9', headers: { Authorization: basicOf(world.active) }, body: null, chunked: false });
    expect(answer.status).toBe(400);
    const health = await send({ method: 'GET', target: '/healthz', headers: {}, body: null, chunked: false });
    expect(health.status).toBe(200);
  });
});

describe('ShipStation endpoint under fuzzing', () => {
  it(
    `valid requests (${VALID_RUNS}) are answered 200, and every accepted notice is stored`,
    async () => {
      const shipments = new Map<string, { orderId: string; trackingNumber: string }>();
      const started = performance.now();
      await fc.assert(
        fc.asyncProperty(shipStationCase(world, 'valid'), async (c) => {
          const answer = await exchange(c);
          tally(figures.valid, answer.status);
          const problems = problemsWith(c, answer);
          if (problems.length) throw new Error(describeFailure(c, answer, problems));
          if (c.shipment) shipments.set(`${c.shipment.orderId} ${c.shipment.trackingNumber}`, c.shipment);
        }),
        { numRuns: VALID_RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
      );
      figures.ms.valid = performance.now() - started;

      // 200 means durable: each acknowledged package is in the read model once its signal is applied,
      // and its raw notice is kept for replay (under its key: the tracking number, already normalised here).
      const missing = async () => {
        const absent = [];
        for (const s of shipments.values()) {
          const recorded = rowsOf(await stack.database.db.execute(sql`select 1 from shipments where order_id = ${s.orderId} and tracking_number = ${s.trackingNumber}`));
          const kept = rowsOf(await stack.database.db.execute(sql`select 1 from shipment_notices where order_id = ${s.orderId} and shipment_key = ${`trk:${s.trackingNumber}`}`));
          if (recorded.length === 0 || kept.length === 0) absent.push({ ...s, recorded: recorded.length > 0, kept: kept.length > 0 });
        }
        return absent;
      };
      let absent = await missing();
      for (let waited = 0; absent.length > 0 && waited < 60_000; waited += 500) {
        await sleep(500);
        absent = await missing();
      }
      expect(absent, 'acknowledged notices whose shipment or raw notice was never stored').toEqual([]);
    },
    timeFor(VALID_RUNS),
  );

  it(
    `hostile requests (${HOSTILE_RUNS}) are refused with the right 4xx and a plain reason, and change nothing`,
    async () => {
      const db = stack.database.db;
      const before = await settledDigests(db);
      const [{ maxId }] = rowsOf<{ maxId: number }>(await db.execute(sql`select coalesce(max(id), 0)::int as "maxId" from connection_requests`)) as [{ maxId: number }];
      const logBefore = await requestLogDigest(db, maxId);
      /** Statuses the request log must have gained, per connection id. */
      const logged = new Map<string, number[]>([
        [connectionIds.active, []],
        [connectionIds.disabled, []],
      ]);

      memory.beforeHostile = memoryAfterGc();
      const started = performance.now();
      await fc.assert(
        fc.asyncProperty(shipStationCase(world, 'hostile'), async (c) => {
          const answer = await exchange(c);
          tally(figures.hostile, answer.status);
          tally(figures.broken, /broken:(\S+)/.exec(c.label)?.[1] ?? '?');
          const problems = problemsWith(c, answer);
          if (problems.length) throw new Error(describeFailure(c, answer, problems));
          // Only a call that got as far as its connection is logged (a throttled one never does).
          if (c.loggedAs && answer.status === c.expected) logged.get(connectionIds[c.loggedAs])!.push(answer.status);
        }),
        { numRuns: HOSTILE_RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
      );
      figures.ms.hostile = performance.now() - started;
      memory.afterHostile = memoryAfterGc();

      // Anything a refused call set off would show within a few seconds: wait, then compare.
      await sleep(2000);
      const after = await tableDigests(db);
      const changed = Object.keys({ ...before, ...after }).filter((t) => !RECORDS_OF_REFUSED_CALLS.has(t) && before[t] !== after[t]);
      expect(changed, 'tables changed by refused requests').toEqual([]);

      // The request log: the rows it had are untouched; one new row per logged call, with its status.
      expect(await requestLogDigest(db, maxId)).toBe(logBefore);
      const added = await requestLog(db, maxId);
      for (const [connectionId, statuses] of logged) {
        const rows = added.filter((r) => r.connection_id === connectionId).map((r) => r.status);
        expect(rows.sort(), `request log of connection ${connectionId}`).toEqual([...statuses].sort());
      }
      expect(added.filter((r) => !logged.has(r.connection_id)), 'log rows of connections that were never authenticated').toEqual([]);
    },
    timeFor(HOSTILE_RUNS),
  );

  it('the process is still up and its memory stayed bounded', async () => {
    const health = await send({ method: 'GET', target: '/healthz', headers: {}, body: null, chunked: false });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toEqual({ status: 'ok' });
    const ready = await send({ method: 'GET', target: '/readyz', headers: {}, body: null, chunked: false });
    expect(ready.status, ready.text).toBe(200);

    const start = memory.start!;
    const end = memoryAfterGc();
    const heapGrowth = end.heapUsed - start.heapUsed;
    const hostileRssGrowth = memory.afterHostile && memory.beforeHostile ? memory.afterHostile.rss - memory.beforeHostile.rss : null;
    console.log(
      [
        `shipstation fuzz: ${RUNS} cases (${VALID_RUNS} valid, ${HOSTILE_RUNS} hostile)${SEED !== undefined ? `, seed ${SEED}` : ''}`,
        `  valid:   ${show(figures.valid)} in ${(figures.ms.valid / 1000).toFixed(1)} s`,
        `  hostile: ${show(figures.hostile)} in ${(figures.ms.hostile / 1000).toFixed(1)} s`,
        `  hostile cases by what they break: ${show(figures.broken)}`,
        `  memory after GC: heap ${mib(start.heapUsed)} -> ${mib(end.heapUsed)} (${mib(heapGrowth)}), rss ${mib(start.rss)} -> ${mib(end.rss)}` +
          (hostileRssGrowth === null ? '' : `, of which the hostile phase ${mib(hostileRssGrowth)}`),
      ].join('\n'),
    );
    expect(heapGrowth, 'heap growth over the fuzz run').toBeLessThan(MAX_HEAP_GROWTH_BYTES);
    expect(hostileRssGrowth, 'the hostile phase did not run').not.toBeNull();
    expect(hostileRssGrowth!, 'RSS growth over the hostile phase').toBeLessThan(MAX_HOSTILE_RSS_GROWTH_BYTES);
  });
});
