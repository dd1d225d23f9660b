/**
 * When the read model stalls or is unreachable: requests the order accepted are never lost (202, then
 * visible), and reads answer 503 with a plain reason.
 */
import postgres from 'postgres';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app';
import { openDatabase } from '../db/client';
import { loadConfig } from '../runtime/config';
import { DATABASE_KINDS } from './support/database';
import { createOrder, eventually, readState } from './support/orders';
import { startTestStack, type TestStack } from './support/stack';

describe.runIf(DATABASE_KINDS.includes('postgres'))('read model stalls (PostgreSQL)', () => {
  let stack: TestStack;
  let merchant: { id: string; apiKey: string };
  beforeAll(async () => {
    stack = await startTestStack({ db: 'postgres', requestTimeoutMs: 2000 });
    merchant = await stack.newMerchant();
  });
  afterAll(() => stack?.close());

  it('a request accepted while writes to the orders table are blocked answers 202 and takes effect once it is free', async () => {
    const { ref } = await createOrder(stack, merchant.id);
    const app = stack.app();
    // EXCLUSIVE blocks every write but still lets the API read.
    const locker = postgres(stack.database.url!, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const locked = new Promise<void>((resolveLocked) => {
      void locker.begin(async (tx) => {
        await tx`lock table orders in exclusive mode`;
        resolveLocked();
        await released;
      });
    });
    try {
      await locked;
      const res = await app.request(`/api/orders/${ref.orderNumber}/hold`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${merchant.apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ reason: 'while the database stalls' }),
      });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ status: 'accepted' });
    } finally {
      release();
      await locker.end({ timeout: 5 });
    }
    const after = await eventually(() => readState(stack, ref.merchantId, ref.orderNumber), (s) => s.status === 'on_hold');
    expect(after.holdReason).toBe('while the database stalls');
  });
});

describe('read model unreachable', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.close());

  it('answers 503 database_unavailable, without a stack trace, when PostgreSQL cannot be reached', async () => {
    const dead = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/nowhere' });
    try {
      const app = createApp({ db: dead.db, temporal: stack.client, orders: stack.orders, adminToken: null, maxBodyBytes: 1024, secretDigest: stack.secretDigest, shipstation: loadConfig({}).shipstation, temporalSettings: { taskQueue: stack.taskQueue, namespace: 'default', uiUrl: 'http://ui.test' }, logger: pino({ level: 'silent' }) });
      const res = await app.request('/api/orders', { headers: { Authorization: 'Bearer ssk_whatever' } });
      expect(res.status).toBe(503);
      const body = await res.text();
      expect(JSON.parse(body)).toMatchObject({ error: 'database_unavailable' });
      expect(body).not.toContain('    at ');
      expect(res.headers.get('Retry-After')).toBe('5');
      // ShipStation gets its plain-text answer, after one more try (a broken pooled connection is not an outage).
      const started = performance.now();
      const notice = await app.request('/shipstation?action=shipnotify&order_number=A-1', { method: 'POST', headers: { Authorization: `Basic ${Buffer.from('ss-user:ssp_pw').toString('base64')}` }, body: '' });
      expect(notice.status).toBe(503);
      expect(notice.headers.get('Content-Type')).toMatch(/^text\/plain/);
      expect(await notice.text()).toMatch(/database is unavailable; nothing was recorded/);
      expect(notice.headers.get('Retry-After')).toBe('30');
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    } finally {
      await dead.close();
    }
  });
});
