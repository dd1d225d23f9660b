/**
 * Ops CLI (`npm run ops -- <command>`), talking to the running API's admin endpoints, so it works the
 * same against `make dev` (embedded PGlite, one process) and production.
 *
 *   connections create --merchant M [--source S] [--json]
 *   connections list --merchant M [--json]
 *   connections rotate <username> [--json]
 *   connections disable <username> --reason R
 *   connections enable <username>
 *   connections log <username> [--limit N] [--json]
 *   connections test <username> [--password P] [--days N]
 *
 * API_URL (default http://localhost:$PORT) and ADMIN_TOKEN (default: $DATA_DIR/admin-token, as kept
 * by `make dev`) say where and who.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { shipStationStatusFields } from '../domain/order';
import { formatShipStationDate } from '../domain/dates';

class UsageError extends Error {}

const USAGE = `usage: npm run ops -- connections <create|list|rotate|disable|enable|log|test> ...
  connections create --merchant M [--source S] [--json]
  connections list --merchant M [--json]
  connections rotate <username> [--json]
  connections disable <username> --reason R
  connections enable <username>
  connections log <username> [--limit N] [--json]
  connections test <username> [--password P | SS_PASSWORD=P] [--days N]`;

const apiUrl = () => (process.env.API_URL?.trim() || `http://localhost:${process.env.PORT?.trim() || 3000}`).replace(/\/+$/, '');

function adminToken(): string {
  const fromEnv = process.env.ADMIN_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  const file = path.resolve(process.env.DATA_DIR?.trim() || '.data', 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new UsageError('set ADMIN_TOKEN (make dev keeps one in .data/admin-token)');
}

async function admin(method: string, route: string, body?: unknown): Promise<any> {
  let response: Response;
  try {
    response = await fetch(`${apiUrl()}${route}`, {
      method,
      headers: { Authorization: `Bearer ${adminToken()}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    throw new UsageError(`cannot reach the API at ${apiUrl()} (${(error as Error).message}); is it running? set API_URL otherwise`);
  }
  const text = await response.text();
  let parsed: any = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: reported below
  }
  if (!response.ok) throw new UsageError(`${response.status}: ${parsed?.message ?? text}`);
  return parsed;
}

const print = (json: boolean, value: unknown, human: () => string) => console.log(json ? JSON.stringify(value, null, 2) : human());

function connectionSheet(c: any): string {
  const mapping = c.statusMapping ?? shipStationStatusFields();
  return [
    `ShipStation connection ${c.username} (merchant ${c.merchantId}, ${c.source ? `source ${c.source}` : 'whole account'})`,
    '',
    'In ShipStation: Settings > Selling Channels > Store Setup > Connect a Store > Custom Store, then enter:',
    `  URL to custom XML page   ${c.url}`,
    `  Username                 ${c.username}`,
    `  Password                 ${c.password ?? '(unchanged; rotate to get a new one)'}`,
    `  Unpaid Status            ${mapping.unpaid}`,
    `  Paid Status              ${mapping.paid}`,
    `  Shipped Status           ${mapping.shipped}`,
    `  Cancelled Status         ${mapping.cancelled}`,
    `  On-Hold Status           ${mapping.on_hold}`,
    ...(c.password ? ['', 'The password is shown only this once.'] : []),
  ].join('\n');
}

function connectionLine(c: any): string {
  return `${c.username}  ${c.source ? `source=${c.source}` : 'whole-account'}  ${c.disabled ? `DISABLED (${c.disabled.reason})` : 'enabled'}  last export ${c.lastExportAt ?? 'never'}  last shipnotify ${c.lastShipnotifyAt ?? 'never'}`;
}

/** Calls the running API exactly as ShipStation would, and says what ShipStation would see. */
async function testConnection(username: string, password: string, days: number): Promise<string> {
  await admin('GET', `/api/admin/connections/${encodeURIComponent(username)}/log?limit=1`); // 404s an unknown username plainly
  const end = new Date();
  const start = new Date(end.getTime() - days * 86_400_000);
  // ShipStation calls the public URL; from here, call the API we can reach with the same query.
  const url = new URL(`${apiUrl()}/shipstation`);
  url.searchParams.set('action', 'export');
  url.searchParams.set('start_date', formatShipStationDate(start));
  url.searchParams.set('end_date', formatShipStationDate(end));
  url.searchParams.set('page', '1');
  const started = performance.now();
  const response = await fetch(url, { headers: { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` } });
  const ms = Math.round(performance.now() - started);
  const body = await response.text();
  const lines = [`GET ${url.pathname}?action=export&start_date=${url.searchParams.get('start_date')}&end_date=${url.searchParams.get('end_date')}&page=1`, `-> ${response.status} ${response.headers.get('content-type') ?? ''} in ${ms} ms`];
  if (!response.ok) return [...lines, `ShipStation would show the merchant: ${body.trim()}`].join('\n');
  const doc = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'Order' }).parse(body);
  if (!doc?.Orders) return [...lines, 'ShipStation would reject this: the answer is not an <Orders> document'].join('\n');
  const found: any[] = doc.Orders.Order ?? [];
  const statuses = new Map<string, number>();
  for (const order of found) statuses.set(String(order.OrderStatus), (statuses.get(String(order.OrderStatus)) ?? 0) + 1);
  return [
    ...lines,
    `ShipStation would import ${found.length} order(s) on page 1 of ${doc.Orders['@_pages']} for the last ${days} day(s)`,
    ...[...statuses].map(([status, n]) => `  ${status}: ${n}`),
    'Test Connection would succeed.',
  ].join('\n');
}

export async function runOps(argv: string[]): Promise<void> {
  const [group, command, ...rest] = argv;
  if (group !== 'connections' || !command) throw new UsageError(USAGE);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      merchant: { type: 'string' },
      source: { type: 'string' },
      reason: { type: 'string' },
      password: { type: 'string' },
      limit: { type: 'string' },
      days: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const json = values.json ?? false;
  const username = positionals[0];
  const needUser = () => {
    if (!username) throw new UsageError(`connections ${command} needs a <username>\n${USAGE}`);
    return encodeURIComponent(username);
  };
  const needMerchant = () => {
    if (!values.merchant) throw new UsageError(`connections ${command} needs --merchant M\n${USAGE}`);
    return encodeURIComponent(values.merchant);
  };

  switch (command) {
    case 'create': {
      const created = await admin('POST', `/api/admin/merchants/${needMerchant()}/connections`, values.source ? { source: values.source } : {});
      return print(json, created, () => connectionSheet(created));
    }
    case 'list': {
      const { connections } = await admin('GET', `/api/admin/merchants/${needMerchant()}/connections`);
      return print(json, connections, () => (connections.length ? connections.map(connectionLine).join('\n') : 'no connections'));
    }
    case 'rotate': {
      const rotated = await admin('POST', `/api/admin/connections/${needUser()}/rotate-password`);
      return print(json, rotated, () => connectionSheet(rotated));
    }
    case 'disable': {
      if (!values.reason) throw new UsageError('connections disable needs --reason R (ShipStation shows it to the merchant)');
      return print(json, await admin('POST', `/api/admin/connections/${needUser()}/disable`, { reason: values.reason }), () => `${username} disabled`);
    }
    case 'enable':
      return print(json, await admin('POST', `/api/admin/connections/${needUser()}/enable`), () => `${username} enabled`);
    case 'log': {
      const limit = values.limit ?? '50';
      const log = await admin('GET', `/api/admin/connections/${needUser()}/log?limit=${encodeURIComponent(limit)}`);
      return print(json, log, () =>
        [
          connectionLine(log.connection),
          ...log.requests.map(
            (r: any) =>
              `${r.at}  ${r.action.padEnd(10)} ${String(r.status)}  ${String(r.durationMs).padStart(5)} ms  ${r.windowStart ? `${r.windowStart}..${r.windowEnd} p${r.page ?? '?'}` : r.orderNumber ?? ''}${r.error ? `  ${r.error}` : ''}`,
          ),
        ].join('\n'),
      );
    }
    case 'test': {
      const password = values.password ?? process.env.SS_PASSWORD;
      if (!password) throw new UsageError('connections test needs the connection password: --password P or SS_PASSWORD=P (only its hash is stored)');
      console.log(await testConnection(decodeURIComponent(needUser()), password, Number(values.days ?? 30)));
      return;
    }
    default:
      throw new UsageError(USAGE);
  }
}

if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  runOps(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof UsageError ? error.message : `ops failed: ${(error as Error).message}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  });
}
