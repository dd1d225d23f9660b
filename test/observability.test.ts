/**
 * What an operator reads: log lines that name their request, merchant, order and workflow (never
 * another request's, however requests interleave), secrets redacted, and a /readyz that turns 503
 * while the API stops. The built processes are checked end to end in test/production.test.ts.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app';
import { ApiMetrics } from '../api/metrics';
import { orderWorkflowId } from '../domain/order';
import { loadConfig } from '../runtime/config';
import { addLogContext, runWithLogContext } from '../runtime/log-context';
import { createLogger } from '../runtime/logger';
import { call } from './support/api';
import { orderPayload } from './support/orders';
import { startTestStack, type TestStack } from './support/stack';

/** A logger writing JSON lines into an array, as pino writes them to stdout. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('info', 'api', destination), lines };
}

describe('logs', () => {
  it('stamp every line with the context of the request it was written in, and only that one', async () => {
    const { logger, lines } = capturingLogger();
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        runWithLogContext({ requestId: `req-${name}` }, async () => {
          await tick();
          addLogContext({ merchant: `merchant-${name}` });
          await tick();
          logger.info({ step: name }, 'working');
        }),
      ),
    );
    logger.info('outside any request');
    for (const name of ['a', 'b', 'c']) {
      expect(lines.find((l) => l.step === name)).toMatchObject({ requestId: `req-${name}`, merchant: `merchant-${name}` });
    }
    expect(lines.at(-1)).not.toHaveProperty('requestId');
  });

  it('redact values under secret-looking keys, at the top and one level down', () => {
    const { logger, lines } = capturingLogger();
    logger.info({ password: 'pw-1', apiKey: 'key-1', connection: { password: 'pw-2', username: 'ss-user' }, target: { secret: 's-1' }, headers: { authorization: 'Bearer t-1' } }, 'careless');
    const text = JSON.stringify(lines);
    for (const secret of ['pw-1', 'key-1', 'pw-2', 's-1', 't-1']) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ password: '[redacted]', connection: { username: 'ss-user', password: '[redacted]' } });
  });
});

describe('API request logs and readiness', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.close());

  const appWith = (logger: ReturnType<typeof createLogger>, stopping = () => false) =>
    createApp({
      db: stack.database.db,
      temporal: stack.client,
      orders: stack.orders,
      adminToken: null,
      maxBodyBytes: 1_048_576,
      secretDigest: stack.secretDigest,
      shipstation: loadConfig({}).shipstation,
      temporalSettings: { taskQueue: stack.taskQueue, namespace: 'default', uiUrl: 'http://ui.test' },
      logger,
      metrics: new ApiMetrics(),
      stopping,
    });

  it('concurrent order requests of two merchants each log their own merchant, order and workflow', async () => {
    const { logger, lines } = capturingLogger();
    const app = appWith(logger);
    const merchants = [await stack.newMerchant(), await stack.newMerchant()];
    const payloads = merchants.map(() => orderPayload());
    const answers = await Promise.all(merchants.map((m, i) => call(app, 'POST', '/api/orders', { token: m.apiKey, json: payloads[i] })));
    expect(answers.map((a) => a.status)).toEqual([201, 201]);
    merchants.forEach((merchant, i) => {
      const line = lines.find((l) => l.msg === 'request' && l.merchant === merchant.id);
      expect(line).toMatchObject({
        requestId: answers[i]!.headers.get('X-Request-Id'),
        orderNumber: payloads[i]!.orderNumber,
        workflowId: orderWorkflowId(merchant.id, payloads[i]!.orderNumber as string),
        route: '/api/orders',
        status: 201,
      });
    });
    const text = JSON.stringify(lines);
    for (const merchant of merchants) expect(text).not.toContain(merchant.apiKey);
  });

  it('/readyz answers 503 "stopping" once shutdown has begun, with the dependencies still shown', async () => {
    let stopping = false;
    const app = appWith(capturingLogger().logger, () => stopping);
    expect((await call(app, 'GET', '/readyz', { errorShape: false })).status).toBe(200);
    stopping = true;
    const res = await call(app, 'GET', '/readyz', { errorShape: false });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'stopping', database: 'ok', temporal: 'ok' });
  });
});
