/**
 * Webhook delivery hardening against the real stack (Temporal dev server, PGlite, the Hono app
 * in-process, real local receivers): no redirects followed, internal addresses refused when a target
 * is configured and when a name is resolved at delivery, a bounded read of the answer, Standard
 * Webhooks signatures checked with the standard's own verifier across a rotation, http targets, and
 * the migration of secrets issued in the old base64url form. No mocks.
 */
import { readFileSync } from 'node:fs';
import { eq, sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setConfirmationTarget } from '../db/confirmations';
import { MIGRATIONS_FOLDER } from '../db/migrate';
import { confirmationTargets } from '../db/schema';
import { orderWorkflowId, type OrderState } from '../domain/order';
import { signingKey } from '../runtime/webhook-signing';
import { call, type TestApp } from './support/api';
import { pageText, signIn } from './support/console-client';
import { createOrder, eventually, orderPayload, readState } from './support/orders';
import { startTestStack, type TestStack } from './support/stack';
import { signatureValid, startWebhookReceiver, webhookReceivers, type ReceivedRequest, type WebhookReceiver } from './support/webhook-receiver';

const ADMIN_TOKEN = 'admin-token-webhook-delivery';
const enc = encodeURIComponent;
type Ref = { merchantId: string; orderNumber: string; orderId: string };

const targetsPath = (merchantId: string) => `/api/admin/merchants/${enc(merchantId)}/confirmation-targets`;
const setTarget = (app: TestApp, merchantId: string, json: unknown) => call(app, 'PUT', targetsPath(merchantId), { token: ADMIN_TOKEN, json });
const targetsOf = async (app: TestApp, merchantId: string) => (await call(app, 'GET', targetsPath(merchantId), { token: ADMIN_TOKEN })).body.targets;
const rotate = (app: TestApp, merchantId: string) => call(app, 'POST', `${targetsPath(merchantId)}/rotate-secret`, { token: ADMIN_TOKEN, json: {} });

async function untilState(stack: TestStack, ref: Ref, check: (s: OrderState) => boolean, timeoutMs = 20_000): Promise<OrderState> {
  const state = await eventually(() => readState(stack, ref.merchantId, ref.orderNumber), check, timeoutMs);
  expect(check(state), `order ${ref.orderNumber} never reached the expected state: ${JSON.stringify({ status: state.status, stuck: state.stuck })}`).toBe(true);
  return state;
}

/** An order created, exported and shipped in one package: its confirmation is due at once. */
async function shippedOrder(stack: TestStack, merchantId: string): Promise<Ref> {
  const { ref } = await createOrder(stack, merchantId, orderPayload());
  await stack.sendFact(ref, { kind: 'exported', exportKey: `page-${ref.orderNumber}` });
  await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'pkg-1', carrier: 'UPS', trackingNumber: `1Z${ref.orderNumber}`, reportedVia: 'test' } });
  return ref;
}

/** The Standard Webhooks headers of a received request, as a receiver hands them to the verifier. */
const standardHeaders = (r: ReceivedRequest) => ({
  'webhook-id': String(r.headers['webhook-id']),
  'webhook-timestamp': String(r.headers['webhook-timestamp']),
  'webhook-signature': String(r.headers['webhook-signature']),
});
const verifies = (secret: string, r: ReceivedRequest) => {
  try {
    new Webhook(secret).verify(r.rawBody, standardHeaders(r));
    return true;
  } catch {
    return false;
  }
};

// ---------------------------------------------------------------------------------------------------

describe('webhook delivery with private networks allowed (make dev, the tests)', () => {
  let stack: TestStack;
  let app: TestApp;
  const receivers = webhookReceivers();
  const receiver = receivers.start;
  /** Push for the merchant to the receiver; the new signing secret. */
  const pushTo = async (merchantId: string, hook: WebhookReceiver) => {
    const res = await setTarget(app, merchantId, { mode: 'push', webhookUrl: hook.url });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.signingSecret as string;
  };
  beforeAll(async () => {
    stack = await startTestStack();
    app = stack.app({ adminToken: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await receivers.closeAll();
    await stack?.close();
  });

  it('a 302 is a failed attempt reported with its status, not retried; the receiver it points to is never called', async () => {
    const merchant = await stack.newMerchant('redir');
    const elsewhere = await receiver();
    const redirecting = await receiver(() => ({ status: 302, headers: { Location: elsewhere.url } }));
    await pushTo(merchant.id, redirecting);
    const ref = await shippedOrder(stack, merchant.id);
    const stuck = await untilState(stack, ref, (s) => s.stuck !== null);
    expect(stuck.stuck).toMatchObject({ reason: 'confirmation_rejected', detail: `confirmation rejected: 302 redirect not followed (to ${elsewhere.url})` });
    await new Promise((r) => setTimeout(r, 1500));
    expect(redirecting.received).toHaveLength(1);
    expect(elsewhere.received).toEqual([]);
  });

  it('a receiver streaming an endless answer: the delivery completes at once, having read a few KiB', async () => {
    const merchant = await stack.newMerchant('endless');
    const endless = await receiver(() => ({ status: 200, endless: true }));
    await pushTo(merchant.id, endless);
    const ref = await shippedOrder(stack, merchant.id);
    await untilState(stack, ref, (s) => s.status === 'confirmed', 20_000);
    const answeredAt = endless.received[0]!.at;
    // Well inside the 15 s attempt timeout: the read stopped, it was not cut off by the timeout.
    expect(Date.now() - answeredAt).toBeLessThan(8000);
    expect(endless.received).toHaveLength(1);
    await eventually(async () => endless.streamed.dropped, (n) => n === 1, 5000);
    expect(endless.streamed.dropped).toBe(1);
    // What was written before the connection dropped is what socket buffers hold, not a growing download.
    const written = endless.streamed.bytes;
    await new Promise((r) => setTimeout(r, 500));
    expect(endless.streamed.bytes).toBe(written);
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });

  it('Standard Webhooks signatures verify with the standardwebhooks package, across a rotation grace; X-Signature beside them', async () => {
    const merchant = await stack.newMerchant('stdwh');
    const hook = await receiver((_, attempt) => (attempt === 1 ? { status: 503, body: 'busy' } : { status: 200 }));
    const oldSecret = await pushTo(merchant.id, hook);
    expect(oldSecret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);

    // Before any rotation: one signature; the same webhook-id on the retry (= Idempotency-Key).
    const first = await shippedOrder(stack, merchant.id);
    await untilState(stack, first, (s) => s.status === 'confirmed', 30_000);
    expect(hook.received.map((r) => r.status)).toEqual([503, 200]);
    const ids = new Set(hook.received.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toBe(hook.received[0]!.headers['idempotency-key']);
    for (const r of hook.received) {
      expect(String(r.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(Math.abs(Number(r.headers['webhook-timestamp']) - r.at / 1000)).toBeLessThan(30);
      expect(verifies(oldSecret, r), 'standardwebhooks verify').toBe(true);
      expect(signatureValid(oldSecret, r.rawBody, r.headers['x-signature'])).toBe(true);
      expect(() => new Webhook(oldSecret).verify(`${r.rawBody} `, standardHeaders(r))).toThrow();
    }

    // Rotated: the previous secret signs beside the new one during the grace.
    const rotated = await rotate(app, merchant.id);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const newSecret = rotated.body.signingSecret as string;
    const graceEnds = Date.parse(rotated.body.previousSecretValidUntil);
    expect(graceEnds - Date.now()).toBeGreaterThan(23 * 3_600_000);
    expect((await targetsOf(app, merchant.id))[0].previousSecretValidUntil).toBe(rotated.body.previousSecretValidUntil);
    const second = await shippedOrder(stack, merchant.id);
    await untilState(stack, second, (s) => s.status === 'confirmed');
    const duringGrace = hook.received.at(-1)!;
    expect(String(duringGrace.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(oldSecret, duringGrace), 'a receiver still holding the old secret').toBe(true);
    expect(verifies(newSecret, duringGrace), 'a receiver already holding the new secret').toBe(true);
    // X-Signature (deprecated) carries the current secret only, as before.
    expect(signatureValid(newSecret, duringGrace.rawBody, duringGrace.headers['x-signature'])).toBe(true);

    // The grace is over: only the new secret signs.
    await stack.database.db.update(confirmationTargets).set({ previousSecretExpiresAt: sql`now() - interval '1 second'` }).where(eq(confirmationTargets.merchantId, merchant.id));
    expect((await targetsOf(app, merchant.id))[0]).not.toHaveProperty('previousSecretValidUntil');
    const third = await shippedOrder(stack, merchant.id);
    await untilState(stack, third, (s) => s.status === 'confirmed');
    const afterGrace = hook.received.at(-1)!;
    expect(String(afterGrace.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(newSecret, afterGrace)).toBe(true);
    expect(verifies(oldSecret, afterGrace)).toBe(false);
  });

  it('a stored plain-http target still delivers, with a warning in the admin view, the console and the delivery', async () => {
    const merchant = await stack.newMerchant('plain');
    const hook = await receiver();
    await pushTo(merchant.id, hook);
    const [target] = await targetsOf(app, merchant.id);
    expect(target).toMatchObject({ webhookUrl: hook.url, warning: expect.stringMatching(/^plain http: deliveries travel unencrypted/) });

    const ref = await shippedOrder(stack, merchant.id);
    await untilState(stack, ref, (s) => s.status === 'confirmed');
    expect(hook.received).toHaveLength(1);
    // The worker logs the warning; the delivery's result (in the order's history, the Web UI) carries it too.
    const history = await stack.client.workflow.getHandle(orderWorkflowId(ref.merchantId, ref.orderNumber)).fetchHistory();
    const results = (history.events ?? []).flatMap((e) => e.activityTaskCompletedEventAttributes?.result?.payloads ?? []).map((p) => Buffer.from(p.data!).toString('utf8'));
    expect(results.some((r) => r.includes('"warning":"plain http'))).toBe(true);

    const ana = await signIn(app, ADMIN_TOKEN);
    const page = await ana.get(`/ops/merchants/${enc(merchant.id)}`);
    expect(pageText(page.html)).toContain('Warning: plain http: deliveries travel unencrypted');
    expect(pageText((await ana.get('/ops/merchants')).html)).toContain(`push to ${hook.url} (plain http)`);
  });

  it('secrets issued in the old base64url form are migrated to the standard encoding with the same key bytes; X-Signature keeps its key', async () => {
    const merchant = await stack.newMerchant('migrate');
    const hook = await receiver();
    const { target } = await setConfirmationTarget(stack.database.db, { merchantId: merchant.id, source: null, mode: 'push', webhookUrl: hook.url });
    // As the code before the migration wrote it: whsec_ + base64url of 24 bytes, with both characters base64url differs in.
    const keyBytes = Buffer.from('fbff3e3f7e7f8011223344556677889900aabbccddeeff00', 'hex');
    const issued = `whsec_${keyBytes.toString('base64url')}`;
    expect(issued).toMatch(/[-_]/);
    await stack.database.db.update(confirmationTargets).set({ signingSecret: issued, legacySignatureKey: null }).where(eq(confirmationTargets.merchantId, target.merchantId));

    const migration = readFileSync(`${MIGRATIONS_FOLDER}/0005_webhook_signing.sql`, 'utf8').split('--> statement-breakpoint').find((s) => /UPDATE "confirmation_targets"/.test(s))!;
    await stack.database.db.execute(sql.raw(migration));
    const [row] = await stack.database.db.select().from(confirmationTargets).where(eq(confirmationTargets.merchantId, merchant.id));
    expect(row!.signingSecret).toBe(`whsec_${keyBytes.toString('base64')}`);
    expect(signingKey(row!.signingSecret!)).toEqual(keyBytes);
    expect(row!.legacySignatureKey).toBe(issued);

    const ref = await shippedOrder(stack, merchant.id);
    await untilState(stack, ref, (s) => s.status === 'confirmed');
    const delivered = hook.received[0]!;
    // The receiver that verifies X-Signature with the string it was given keeps working...
    expect(signatureValid(issued, delivered.rawBody, delivered.headers['x-signature'])).toBe(true);
    // ...and the same key, in the standard's encoding, verifies webhook-signature.
    expect(verifies(row!.signingSecret!, delivered)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('webhook delivery with private networks refused (the default)', () => {
  const strict = { allowPrivateNetworks: false };
  let stack: TestStack;
  let app: TestApp;
  let hook: WebhookReceiver;
  beforeAll(async () => {
    stack = await startTestStack({ webhooks: strict });
    app = stack.app({ adminToken: ADMIN_TOKEN, webhooks: strict });
    hook = await startWebhookReceiver();
  });
  afterAll(async () => {
    await hook?.close();
    await stack?.close();
  });

  it('a private literal address is refused when the target is set: 400 with the reason, from the admin API and the console', async () => {
    const merchant = await stack.newMerchant('literal');
    const refused = {
      'https://127.0.0.1:8443/hooks': '127.0.0.1 is a loopback address (allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)',
      'https://10.1.2.3/hooks': '10.1.2.3 is a private address (RFC 1918) (allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)',
      // The URL parser writes an IPv4-mapped address in hex; it is still judged as the IPv4 address it maps.
      'https://[::ffff:192.168.0.1]/hooks': '::ffff:c0a8:1 is a private address (RFC 1918) (allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)',
      'https://169.254.169.254/latest/meta-data/': "169.254.169.254 is the cloud metadata service's address",
      'https://[fe80::1]/hooks': 'fe80::1 is a link-local address (allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)',
    };
    for (const [webhookUrl, reason] of Object.entries(refused)) {
      const res = await setTarget(app, merchant.id, { mode: 'push', webhookUrl });
      expect(res.status, webhookUrl).toBe(400);
      expect(res.body, webhookUrl).toMatchObject({ error: 'invalid_request', message: `webhookUrl ${reason}`, details: [{ path: 'webhookUrl', message: reason }] });
    }
    expect(await targetsOf(app, merchant.id)).toEqual([]);

    const ana = await signIn(app, ADMIN_TOKEN);
    const outcome = await ana.outcome(await ana.post(`/ops/merchants/${enc(merchant.id)}/confirmation-target`, { mode: 'push', webhookUrl: 'https://127.0.0.1/hooks', source: '' }));
    expect(outcome).toMatchObject({ kind: 'alert', text: `Refused: webhookUrl ${refused['https://127.0.0.1:8443/hooks']}` });
    expect(await targetsOf(app, merchant.id)).toEqual([]);
  });

  it('a new plain-http target is refused; a stored one is kept when set again unchanged', async () => {
    const merchant = await stack.newMerchant('http');
    const res = await setTarget(app, merchant.id, { mode: 'push', webhookUrl: 'http://shop.example.com/hooks' });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('webhookUrl must use https (plain http is allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)');

    // Stored before the rule: setting it again (another mode, the same URL) keeps working; changing it does not.
    await setConfirmationTarget(stack.database.db, { merchantId: merchant.id, source: null, mode: 'push', webhookUrl: 'http://shop.example.com/hooks' });
    const same = await setTarget(app, merchant.id, { mode: 'push', webhookUrl: 'http://shop.example.com/hooks' });
    expect(same.status, JSON.stringify(same.body)).toBe(200);
    expect(same.body.warning).toMatch(/^plain http/);
    expect((await setTarget(app, merchant.id, { mode: 'push', webhookUrl: 'http://shop.example.com/other' })).status).toBe(400);
    expect((await setTarget(app, merchant.id, { mode: 'push', webhookUrl: 'https://shop.example.com/hooks' })).status).toBe(200);
  });

  it('a name resolving to loopback is refused at delivery: stuck with the reason, nothing sent', async () => {
    const merchant = await stack.newMerchant('rebind');
    // A host name passes configuration (DNS can change): it is judged where it is resolved.
    const res = await setTarget(app, merchant.id, { mode: 'push', webhookUrl: `https://localhost:${hook.port}/hooks/confirmations` });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const ref = await shippedOrder(stack, merchant.id);
    const stuck = await untilState(stack, ref, (s) => s.stuck !== null);
    expect(stuck.stuck).toMatchObject({
      reason: 'confirmation_rejected',
      detail: expect.stringMatching(/^webhook address refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address \(allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true\)$/),
    });

    // A stored literal private target (set before the rule, or by another process) is refused the same way.
    const other = await stack.newMerchant('stored');
    await setConfirmationTarget(stack.database.db, { merchantId: other.id, source: null, mode: 'push', webhookUrl: hook.url });
    const otherRef = await shippedOrder(stack, other.id);
    const otherStuck = await untilState(stack, otherRef, (s) => s.stuck !== null);
    expect(otherStuck.stuck?.detail).toBe('webhook address refused: 127.0.0.1 is a loopback address (allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)');
    expect(hook.received).toEqual([]);
  });
});
