/** The read model on both databases: migrations, idempotent projection, the LastModified stamp. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMerchant, findMerchantByApiKey, MerchantExistsError, rotateMerchantKey } from '../db/merchants';
import { SecretDigest } from '../db/secret-digest';
import { lockForExport, recordServedWindow } from '../db/export-windows';
import { findOrderById, projectOrder, stateFromRecord } from '../db/orders';
import { applyHold, applyShipmentReported, newOrderState } from '../domain/lifecycle';
import type { OrderContent, OrderState } from '../domain/order';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from './support/database';

const digest = new SecretDigest('read-model-test-secret-digest-key-0123456789');

const content: OrderContent = {
  orderNumber: 'RM-1',
  orderDate: '2026-11-20T09:30:00.000Z',
  paid: true,
  currency: 'EUR',
  source: 'amazon',
  customer: { code: 'C-9', email: 'c@example.com' },
  billTo: { name: 'Bill' },
  shipTo: { name: 'Ship', street1: 'Rue 1', city: 'Paris', postalCode: '75001', country: 'FR' },
  lines: [
    { lineId: 'a', sku: 'A', name: 'Alpha', quantity: 3, unitPrice: '1.10', weight: { value: '1.5', unit: 'kg' }, options: [{ name: 'Colour', value: 'Red & "Blue"' }], adjustment: false },
    { lineId: 'fee', sku: '', name: 'Fee', quantity: 1, unitPrice: '2.00', options: [], adjustment: true },
  ],
  shippingAmount: '3.00',
  taxAmount: '0.66',
  total: '8.96',
  gift: true,
  giftMessage: 'Enjoy ✓ — ünïcödé',
  customFields: ['x', 'y'],
};

describe.each(DATABASE_KINDS)('read model on %s', (kind) => {
  let database: TestDatabase;
  let merchantId: string;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
    merchantId = (await createMerchant(database.db, digest, { id: 'rm', name: 'Read model' })).merchant.id;
  });
  afterAll(() => database?.close());

  const fresh = (orderId: string, number: string): OrderState => ({
    ...newOrderState({ orderId, merchantId, content: { ...content, orderNumber: number }, createHash: 'h', now: '2026-11-25T10:00:00.000Z' }),
  });

  it('a projected order reads back as the same state', async () => {
    const state = fresh('o-roundtrip', 'RM-1');
    applyShipmentReported(state, { shipmentKey: 'k', carrier: 'UPS', trackingNumber: '1Z9', shipDate: '2026-11-25', shippingCost: '7.25', items: [{ lineId: 'a', quantity: 1 }], reportedVia: 'test' }, '2026-11-25T11:00:00.000Z');
    const { lastModified } = await projectOrder(database.db, { state, version: 1, workflowId: 'wf' });
    const record = await findOrderById(database.db, 'o-roundtrip');
    expect(stateFromRecord(record!)).toEqual({ ...state, lastModified });
  });

  it('parts the workflow declares unchanged are not rewritten; the order row always is', async () => {
    const state = fresh('o-parts', 'RM-P');
    await projectOrder(database.db, { state, version: 1, workflowId: 'wf' });
    // Lines said unchanged although they differ: the statement is skipped, so the old lines stay.
    const next = structuredClone(state);
    next.content.lines[0]!.name = 'Alpha (renamed)';
    applyHold(next, 'checking the address', '2026-11-25T10:05:00.000Z');
    applyShipmentReported(next, { shipmentKey: 'k', carrier: 'UPS', trackingNumber: '1ZP', reportedVia: 'test' }, '2026-11-25T10:06:00.000Z');
    await projectOrder(database.db, { state: next, version: 2, workflowId: 'wf', unchanged: { lines: true, shipments: true } });
    let record = (await findOrderById(database.db, 'o-parts'))!;
    expect(record.order.status).toBe(next.status); // the row follows the state
    expect(record.lines[0]!.name).toBe('Alpha');
    expect(record.shipments).toEqual([]);
    // Declared changed: written.
    await projectOrder(database.db, { state: next, version: 3, workflowId: 'wf', unchanged: { lines: false, shipments: false } });
    record = (await findOrderById(database.db, 'o-parts'))!;
    expect(record.lines[0]!.name).toBe('Alpha (renamed)');
    expect(record.shipments.map((s) => s.trackingNumber)).toEqual(['1ZP']);
  });

  it('a repeated or stale projection changes nothing', async () => {
    const state = fresh('o-stale', 'RM-2');
    const first = await projectOrder(database.db, { state, version: 2, workflowId: 'wf' });
    expect(first.applied).toBe(true);
    const again = await projectOrder(database.db, { state, version: 2, workflowId: 'wf' });
    expect(again).toEqual({ lastModified: first.lastModified, applied: false });
    const older = structuredClone(state);
    applyHold(older, 'stale hold', '2026-11-25T10:01:00.000Z');
    const stale = await projectOrder(database.db, { state: older, version: 1, workflowId: 'wf' });
    expect(stale.applied).toBe(false);
    expect((await findOrderById(database.db, 'o-stale'))!.order.status).toBe('pending');
  });

  it('LastModified is stamped by the database only when the modified revision rises', async () => {
    const state = fresh('o-lm', 'RM-3');
    const before = Date.now();
    const created = await projectOrder(database.db, { state, version: 1, workflowId: 'wf' });
    expect(Date.parse(created.lastModified)).toBeGreaterThanOrEqual(before - 1000);
    // A newer version with the same revision (e.g. pending -> at_wms) keeps the stamp.
    state.status = 'at_wms';
    const exported = await projectOrder(database.db, { state, version: 2, workflowId: 'wf' });
    expect(exported.lastModified).toBe(created.lastModified);
    // A higher revision moves it, to the database's clock, not the workflow's timeline.
    state.modifiedRevision++;
    await new Promise((r) => setTimeout(r, 5));
    const moved = await projectOrder(database.db, { state, version: 3, workflowId: 'wf' });
    expect(Date.parse(moved.lastModified)).toBeGreaterThan(Date.parse(created.lastModified));
  });

  it('a change committed after an export is stamped beyond the window ShipStation has read', async () => {
    const state = fresh('o-window', 'RM-5');
    await projectOrder(database.db, { state, version: 1, workflowId: 'wf' });
    // ShipStation's clock runs ahead: it has read up to ten minutes from now.
    const windowEnd = new Date(Date.now() + 10 * 60_000).toISOString();
    await database.db.transaction(async (tx) => {
      await lockForExport(tx, merchantId);
      await recordServedWindow(tx, merchantId, windowEnd);
    });
    state.modifiedRevision++;
    const { lastModified } = await projectOrder(database.db, { state, version: 2, workflowId: 'wf' });
    expect(Date.parse(lastModified)).toBeGreaterThan(Date.parse(windowEnd));
    // An earlier window never pulls the watermark back.
    await database.db.transaction((tx) => recordServedWindow(tx, merchantId, '2020-01-01T00:00:00.000Z'));
    state.modifiedRevision++;
    const again = await projectOrder(database.db, { state, version: 3, workflowId: 'wf' });
    expect(Date.parse(again.lastModified)).toBeGreaterThan(Date.parse(windowEnd));
  });

  it.runIf(kind === 'postgres')('a projection waits while an export reads, then stamps past what it served', async () => {
    const state = fresh('o-race', 'RM-6');
    await projectOrder(database.db, { state, version: 1, workflowId: 'wf' });
    state.modifiedRevision++;
    let projection: Promise<{ lastModified: string }> | undefined;
    let projectedDuringExport = false;
    const windowEnd = new Date().toISOString();
    await database.db.transaction(async (tx) => {
      await lockForExport(tx, merchantId);
      projection = projectOrder(database.db, { state, version: 2, workflowId: 'wf' });
      void projection.then(() => (projectedDuringExport = true));
      await new Promise((r) => setTimeout(r, 300));
      await recordServedWindow(tx, merchantId, windowEnd);
    });
    expect(projectedDuringExport).toBe(false);
    const { lastModified } = await projection!;
    expect(Date.parse(lastModified)).toBeGreaterThan(Date.parse(windowEnd));
  });

  it('lines removed by a change disappear from the read model', async () => {
    const state = fresh('o-lines', 'RM-4');
    await projectOrder(database.db, { state, version: 1, workflowId: 'wf' });
    state.content = { ...state.content, lines: [state.content.lines[0]!] };
    await projectOrder(database.db, { state, version: 2, workflowId: 'wf' });
    expect((await findOrderById(database.db, 'o-lines'))!.lines.map((l) => l.lineId)).toEqual(['a']);
  });

  it('merchant keys are stored hashed, found by key, and rotation retires the old key', async () => {
    const { apiKey } = await createMerchant(database.db, digest, { id: 'keys', name: 'Keys' });
    expect((await findMerchantByApiKey(database.db, digest, apiKey))?.id).toBe('keys');
    expect(JSON.stringify(await findMerchantByApiKey(database.db, digest, apiKey))).not.toContain(apiKey);
    await expect(createMerchant(database.db, digest, { id: 'keys', name: 'Again' })).rejects.toBeInstanceOf(MerchantExistsError);
    const rotated = await rotateMerchantKey(database.db, digest, 'keys');
    expect(await findMerchantByApiKey(database.db, digest, apiKey)).toBeNull();
    expect((await findMerchantByApiKey(database.db, digest, rotated!))?.id).toBe('keys');
    expect(await rotateMerchantKey(database.db, digest, 'nobody')).toBeNull();
  });
});
