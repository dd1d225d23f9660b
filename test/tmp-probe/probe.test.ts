import { afterAll, beforeAll, it } from 'vitest';
import { call } from '../support/api';
import { startTestStack, type TestStack } from '../support/stack';
let stack: TestStack;
beforeAll(async () => { stack = await startTestStack(); });
afterAll(async () => { try { await stack?.close(); console.log('closed ok'); } catch (e) { console.log('close failed', e); } });
it('probe', async () => {
  const app = stack.app({ adminToken: 'sekret' });
  const m = await stack.newMerchant();
  await stack.database.close();
  const show = (label: string, r: any) => console.log(label, r.status, JSON.stringify(r.body).slice(0, 300));
  show('readyz', await call(app, 'GET', '/readyz', { errorShape: false }));
  show('list', await call(app, 'GET', '/api/orders', { token: m.apiKey }));
  show('admin', await call(app, 'POST', '/api/admin/merchants', { token: 'sekret', json: { id: 'x', name: 'y' } }));
}, 60000);
