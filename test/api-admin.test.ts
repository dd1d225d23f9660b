/**
 * The admin API (merchants and their keys), the health checks, the OpenAPI document and the app's
 * error handling, against the real stack: no mocks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, detailPaths, type TestApp } from './support/api';
import { orderPayload } from './support/orders';
import { startTestStack, uniqueId, type TestStack } from './support/stack';

const ADMIN_TOKEN = 'admin-token-for-tests';

let stack: TestStack;
let app: TestApp;

beforeAll(async () => {
  stack = await startTestStack();
  app = stack.app({ adminToken: ADMIN_TOKEN });
});
afterAll(() => stack?.close());

const merchantId = () => uniqueId('acme').toLowerCase();

/** `token: null` sends no Authorization header. */
const createMerchant = (json: unknown, token: string | null = ADMIN_TOKEN) =>
  call(app, 'POST', '/api/admin/merchants', { ...(token !== null ? { token } : {}), json });

const rotateKey = (id: string, token: string | null = ADMIN_TOKEN) =>
  call(app, 'POST', `/api/admin/merchants/${encodeURIComponent(id)}/rotate-key`, token !== null ? { token } : {});

const listOrders = (apiKey: string) => call(app, 'GET', '/api/orders', { token: apiKey });

describe('POST /api/admin/merchants', () => {
  it('creates a merchant (201 {id, name, apiKey}) whose key works on the order API', async () => {
    const id = merchantId();
    const res = await createMerchant({ id, name: 'Acme Inc.' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id, name: 'Acme Inc.', apiKey: expect.stringMatching(/^ssk_[A-Za-z0-9_-]{40,}$/) });

    const list = await listOrders(res.body.apiKey);
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ orders: [], nextCursor: null });

    const order = await call(app, 'POST', '/api/orders', { token: res.body.apiKey, json: orderPayload() });
    expect(order.status).toBe(201);
    expect(order.body.workflowId).toBe(`order:${id}:${order.body.orderNumber}`);
  });

  it('gives every merchant its own key', async () => {
    const a = await createMerchant({ id: merchantId(), name: 'A' });
    const b = await createMerchant({ id: merchantId(), name: 'B' });
    expect(a.body.apiKey).not.toBe(b.body.apiKey);
  });

  it('refuses a duplicate id with 409 and keeps the first key working', async () => {
    const id = merchantId();
    const first = await createMerchant({ id, name: 'First' });
    expect(first.status).toBe(201);
    const again = await createMerchant({ id, name: 'Second' });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('conflict');
    expect(again.body.message).toContain(id);
    expect(again.body).not.toHaveProperty('apiKey');
    expect((await listOrders(first.body.apiKey)).status).toBe(200);
  });

  const invalid: [string, unknown, string][] = [
    ['an id with capitals and a space', { id: 'Bad Id', name: 'x' }, 'id'],
    ['an id starting with "-"', { id: '-acme', name: 'x' }, 'id'],
    ['an id with "/"', { id: 'a/b', name: 'x' }, 'id'],
    ['an id of 51 characters', { id: 'a'.repeat(51), name: 'x' }, 'id'],
    ['an empty id', { id: '', name: 'x' }, 'id'],
    ['a missing id', { name: 'x' }, 'id'],
    ['a numeric id', { id: 42, name: 'x' }, 'id'],
    ['an empty name', { id: 'fine-id', name: '' }, 'name'],
    ['a missing name', { id: 'fine-id' }, 'name'],
  ];
  it.each(invalid)('answers 400 with details[].path for %s', async (_label, json, path) => {
    const res = await createMerchant(json);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(detailPaths(res)).toContain(path);
    expect(res.body.message).toContain(path);
  });

  it('answers 400 for an unknown field, and 400/415 for a body that is not JSON', async () => {
    const extra = await createMerchant({ id: merchantId(), name: 'x', apiKey: 'ssk_chosen-by-me' });
    expect(extra.status).toBe(400);
    expect(JSON.stringify(extra.body.details)).toContain('apiKey');

    const garbage = await call(app, 'POST', '/api/admin/merchants', {
      token: ADMIN_TOKEN,
      body: '{"id": "x",',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(garbage.status).toBe(400);
    expect(garbage.body.message).toMatch(/json/i);

    const text = await call(app, 'POST', '/api/admin/merchants', {
      token: ADMIN_TOKEN,
      body: JSON.stringify({ id: merchantId(), name: 'x' }),
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(text.status).toBe(415);
  });
});

describe('admin authentication', () => {
  it('answers 401 with WWW-Authenticate without a bearer token', async () => {
    for (const headers of [{} as Record<string, string>, { Authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }, { Authorization: ADMIN_TOKEN }, { Authorization: 'Bearer ' }]) {
      const res = await call(app, 'POST', '/api/admin/merchants', { headers, json: { id: merchantId(), name: 'x' } });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.body.error).toBe('unauthorized');
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
    }
    const rotate = await rotateKey('anyone', null);
    expect(rotate.status).toBe(401);
    expect(rotate.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
  });

  it('answers 403 for a wrong token, including a merchant key, and creates nothing', async () => {
    const merchant = await stack.newMerchant('key');
    for (const token of ['garbage', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1), merchant.apiKey]) {
      const id = merchantId();
      const res = await createMerchant({ id, name: 'x' }, token);
      expect(res.status, token).toBe(403);
      expect(res.body.error).toBe('forbidden');
      // The id is still free: the refused call created nothing.
      expect((await createMerchant({ id, name: 'x' })).status).toBe(201);
    }
    expect((await rotateKey(merchant.id, 'garbage')).status).toBe(403);
    expect((await listOrders(merchant.apiKey)).status).toBe(200);
  });

  it('checks the token before the body', async () => {
    expect((await createMerchant({ id: 'Bad Id' }, null)).status).toBe(401);
    expect((await createMerchant({ id: 'Bad Id' }, 'garbage')).status).toBe(403);
  });

  it('the admin token is not a merchant key', async () => {
    const res = await listOrders(ADMIN_TOKEN);
    expect(res.status).toBe(401);
  });

  it('answers 403 when the admin API is disabled (adminToken null), whatever the token', async () => {
    const disabled = stack.app();
    for (const options of [{}, { token: ADMIN_TOKEN }, { token: 'null' }, { token: '' }]) {
      const res = await call(disabled, 'POST', '/api/admin/merchants', { ...options, json: { id: merchantId(), name: 'x' } });
      expect(res.status, JSON.stringify(options)).toBe(403);
      expect(res.body.error).toBe('forbidden');
      expect(res.body.message).toMatch(/disabled/);
    }
    const merchant = await stack.newMerchant('dis');
    expect((await call(disabled, 'POST', `/api/admin/merchants/${merchant.id}/rotate-key`, { token: ADMIN_TOKEN })).status).toBe(403);
    // The merchant API is unaffected.
    expect((await call(disabled, 'GET', '/api/orders', { token: merchant.apiKey })).status).toBe(200);
  });
});

describe('POST /api/admin/merchants/{id}/rotate-key', () => {
  it('replaces the key: the new one works at once, the old one answers 401', async () => {
    const id = merchantId();
    const created = await createMerchant({ id, name: 'Rotating' });
    const oldKey = created.body.apiKey as string;
    const order = await call(app, 'POST', '/api/orders', { token: oldKey, json: orderPayload() });
    expect(order.status).toBe(201);

    const rotated = await rotateKey(id);
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({ id, apiKey: expect.stringMatching(/^ssk_/) });
    const newKey = rotated.body.apiKey as string;
    expect(newKey).not.toBe(oldKey);

    const stale = await listOrders(oldKey);
    expect(stale.status).toBe(401);
    expect(stale.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
    expect(stale.body.message).toMatch(/rotated/);

    // The merchant's orders belong to the merchant, not to a key.
    const fresh = await listOrders(newKey);
    expect(fresh.status).toBe(200);
    expect(fresh.body.orders.map((o: { orderNumber: string }) => o.orderNumber)).toEqual([order.body.orderNumber]);
    expect((await call(app, 'GET', `/api/orders/${encodeURIComponent(order.body.orderNumber)}`, { token: newKey })).status).toBe(200);

    // Rotating again retires the second key too.
    const again = await rotateKey(id);
    expect((await listOrders(newKey)).status).toBe(401);
    expect((await listOrders(again.body.apiKey)).status).toBe(200);
  });

  it('answers 404 for an unknown merchant and 400 for an id that cannot be one', async () => {
    const missing = await rotateKey(merchantId());
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('not_found');

    const bad = await rotateKey('Not An Id');
    expect(bad.status).toBe(400);
    expect(detailPaths(bad)).toContain('id');
  });
});

describe('health, OpenAPI and unknown routes', () => {
  it('GET /healthz answers 200', async () => {
    const res = await call(app, 'GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 with the database and Temporal ok', async () => {
    const res = await call(app, 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', database: 'ok', temporal: 'ok' });
  });

  it('health checks need no credentials, even with the admin API disabled', async () => {
    const disabled = stack.app();
    expect((await call(disabled, 'GET', '/healthz')).status).toBe(200);
    expect((await call(disabled, 'GET', '/readyz')).status).toBe(200);
    expect((await call(disabled, 'GET', '/openapi.json')).status).toBe(200);
  });

  it('GET /openapi.json is a valid OpenAPI 3.1 document of the whole API', async () => {
    const res = await call(app, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/application\/json/);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });

    const paths = doc.paths as Record<string, Record<string, any>>;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        '/healthz',
        '/readyz',
        '/api/admin/merchants',
        '/api/admin/merchants/{id}/rotate-key',
        '/api/orders',
        '/api/orders/{orderNumber}',
        '/api/orders/{orderNumber}/pay',
        '/api/orders/{orderNumber}/hold',
        '/api/orders/{orderNumber}/release',
        '/api/orders/{orderNumber}/cancel',
        '/api/orders/{orderNumber}/retry',
        '/api/orders/{orderNumber}/resend',
      ]),
    );
    expect(Object.keys(paths['/api/orders']!).sort()).toEqual(['get', 'post']);
    expect(Object.keys(paths['/api/orders/{orderNumber}']!).sort()).toEqual(['get', 'patch']);
    expect(Object.keys(paths['/api/admin/merchants']!)).toEqual(['post']);

    const methods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
    const schemes = Object.keys(doc.components?.securitySchemes ?? {});
    expect(schemes).toEqual(expect.arrayContaining(['adminToken', 'merchantKey']));
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries(paths)) {
      expect(path.startsWith('/'), path).toBe(true);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item)) {
        if (method === 'parameters') continue;
        expect(methods.has(method), `${method} ${path}`).toBe(true);
        expect(Object.keys(op.responses ?? {}).length, `${method} ${path} responses`).toBeGreaterThan(0);
        for (const [code, response] of Object.entries(op.responses as Record<string, any>)) {
          expect(code, `${method} ${path}`).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
          expect(typeof response.description, `${method} ${path} ${code} description`).toBe('string');
        }
        const parameters = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: any) => (p.$ref ? resolveRef(doc, p.$ref) : p));
        for (const name of templated) {
          expect(parameters.some((p: any) => p.in === 'path' && p.name === name && p.required === true), `${method} ${path} declares {${name}}`).toBe(true);
        }
        for (const requirement of op.security ?? []) {
          for (const scheme of Object.keys(requirement)) expect(schemes, `${method} ${path} security`).toContain(scheme);
        }
        if (op.operationId) {
          expect(operationIds.has(op.operationId), `duplicate operationId ${op.operationId}`).toBe(false);
          operationIds.add(op.operationId);
        }
      }
    }
    expect(paths['/api/orders']!.post.security).toEqual([{ merchantKey: [] }]);
    expect(paths['/api/admin/merchants']!.post.security).toEqual([{ adminToken: [] }]);
    expect(Object.keys(paths['/api/orders']!.post.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '409', '413', '415', '503']));

    // Every $ref points at something in the document.
    const refs: string[] = [];
    const collect = (value: unknown) => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
          if (k === '$ref' && typeof v === 'string') refs.push(v);
          else collect(v);
        }
      }
    };
    collect(doc);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of new Set(refs)) expect(resolveRef(doc, ref), ref).toBeDefined();
    expect(doc.components.schemas).toHaveProperty('OrderPayload');
    expect(doc.components.schemas).toHaveProperty('Error');
  });

  it('unknown routes answer 404 JSON', async () => {
    const merchant = await stack.newMerchant('nf');
    for (const [method, path, token] of [
      ['GET', '/nope', undefined],
      ['GET', '/api', undefined],
      ['DELETE', '/api/orders/x', merchant.apiKey],
      ['GET', '/api/orders/x/track', merchant.apiKey],
      ['GET', '/api/admin/merchants', ADMIN_TOKEN],
    ] as const) {
      const res = await call(app, method, path, token ? { token } : {});
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error).toBe('not_found');
    }
  });
});

describe('when the database is gone', () => {
  let broken: TestStack;
  beforeAll(async () => {
    broken = await startTestStack();
  });
  // The database is closed by the test already; close the rest.
  afterAll(() => broken?.close().catch(() => {}));

  it('readyz answers 503 and requests fail as JSON without a stack trace', async () => {
    const brokenApp = broken.app({ adminToken: ADMIN_TOKEN });
    const merchant = await broken.newMerchant('gone');
    await broken.database.close();

    const ready = await call(brokenApp, 'GET', '/readyz', { errorShape: false });
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'not_ready', database: 'unreachable', temporal: 'ok' });
    expect((await call(brokenApp, 'GET', '/healthz')).status).toBe(200);

    for (const [method, path, options] of [
      ['GET', '/api/orders', { token: merchant.apiKey }],
      ['POST', '/api/orders', { token: merchant.apiKey, json: orderPayload() }],
      ['POST', '/api/admin/merchants', { token: ADMIN_TOKEN, json: { id: merchantId(), name: 'x' } }],
    ] as const) {
      const res = await call(brokenApp, method, path, options);
      expect([500, 503], `${method} ${path}`).toContain(res.status);
      expect(res.text).not.toMatch(/PGlite|node_modules|\.ts:\d+/);
    }
  });
});

function resolveRef(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}
