/**
 * Ops CLI (`npm run ops -- <group> <command>`, `--help` anywhere), talking to the running API's admin
 * and ops endpoints, so it works the same against `make dev` (embedded PGlite, one process) and
 * production. Tables by default, `--json` for scripts. Commands: see COMMANDS below.
 *
 * API_URL (default http://localhost:$PORT) and ADMIN_TOKEN (default: $DATA_DIR/admin-token, as kept
 * by `make dev`) say where and who.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { DRY_RUN_HEADER } from '../api/shipstation/export';
import { setupSheetFields, SHIPSTATION_SETUP_MENU, testExportQuery } from '../api/routes/connections';
import { OPS_CLIENT_HEADER, OPS_NAME_HEADER } from '../api/order-requests';
import { userInfo } from 'node:os';

class UsageError extends Error {}

const apiUrl = () => (process.env.API_URL?.trim() || `http://localhost:${process.env.PORT?.trim() || 3000}`).replace(/\/+$/, '');

function adminToken(): string {
  const fromEnv = process.env.ADMIN_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  const file = path.resolve(process.env.DATA_DIR?.trim() || '.data', 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new UsageError('set ADMIN_TOKEN (make dev keeps one in .data/admin-token)');
}

/** Who runs the CLI, for the order timelines: OPS_NAME, else the login name (self-declared, see docs/ops-console.md). */
function operatorName(): string {
  const name = process.env.OPS_NAME?.trim() || (() => { try { return userInfo().username; } catch { return ''; } })();
  // Header values are Latin-1; a name that is not stays out rather than break the request.
  return /^[\x20-\x7e\xa0-\xff]*$/.test(name) ? name : '';
}

async function admin(method: string, route: string, body?: unknown): Promise<any> {
  let response: Response;
  try {
    response = await fetch(`${apiUrl()}${route}`, {
      method,
      headers: { Authorization: `Bearer ${adminToken()}`, [OPS_CLIENT_HEADER]: 'cli', [OPS_NAME_HEADER]: operatorName(), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
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
  return [
    `ShipStation connection ${c.username} (merchant ${c.merchantId}, ${c.source ? `source ${c.source}` : 'whole account'})`,
    '',
    `In ShipStation: ${SHIPSTATION_SETUP_MENU}, then enter:`,
    ...setupSheetFields({ url: c.url, username: c.username, password: c.password ?? null }).map(
      (field) => `  ${field.label.padEnd(25)}${field.value ?? '(unchanged; rotate to get a new one)'}`,
    ),
    ...(c.password ? ['', 'The password is shown only this once.'] : []),
  ].join('\n');
}

function connectionLine(c: any): string {
  return `${c.username}  ${c.source ? `source=${c.source}` : 'whole-account'}  ${c.disabled ? `DISABLED (${c.disabled.reason})` : 'enabled'}  last export ${c.lastExportAt ?? 'never'}  last shipnotify ${c.lastShipnotifyAt ?? 'never'}`;
}

/** Calls the running API exactly as ShipStation would, and says what ShipStation would see. */
async function testConnection(username: string, password: string, days: number): Promise<string> {
  await admin('GET', `/api/admin/connections/${encodeURIComponent(username)}/log?limit=1`); // 404s an unknown username plainly
  // ShipStation calls the public URL; from here, call the API we can reach with the same query.
  const url = new URL(`${apiUrl()}/shipstation?${testExportQuery(days)}`);
  const started = performance.now();
  // A dry run: the same answer ShipStation would get, without marking anything as served.
  const response = await fetch(url, { headers: { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`, [DRY_RUN_HEADER]: 'true' } });
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

/** A plain text table: the default output of list commands (`--json` for machines). */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

interface Command {
  usage: string;
  run(args: { positionals: string[]; values: Record<string, string | boolean | undefined>; json: boolean }): Promise<void>;
}

const path2 = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

const ORDER_COLUMNS = ['merchantId', 'orderNumber', 'status', 'stuck', 'lastModified', 'source'];
const orderRow = (o: any) => ({ ...o, stuck: o.stuck ? `${o.stuck.reason} since ${o.stuck.since}${o.stuckDetail ? ` (${o.stuckDetail})` : ''}` : '' });

function orderSheet(o: any): string {
  return [
    `Order ${o.orderNumber} (${o.merchantId}), OrderID ${o.orderId}`,
    `  status        ${o.status} since ${o.statusSince}${o.hold ? ` (hold: ${o.hold.reason}, returns to ${o.hold.returnsTo})` : ''}`,
    `  stuck         ${o.stuck ? `${o.stuck.reason} since ${o.stuck.since}${o.stuck.detail ? ` (${o.stuck.detail})` : ''}` : 'no'}`,
    `  LastModified  ${o.lastModified}`,
    `  Temporal UI   ${o.temporalUrl}`,
    '',
    'Lines',
    table(o.lines.map((l: any) => ({ ...l, shipped: `${l.shipped}/${l.quantity}` })), ['lineId', 'sku', 'name', 'shipped', 'adjustment']),
    '',
    'Shipments',
    table(
      o.shipments.map((s: any) => ({
        ...s,
        lines: s.lines.map((l: any) => `${l.lineId}x${l.quantity}`).join(' '),
        unmatched: (s.unmatched ?? []).map((u: any) => `${u.lineId ?? u.sku}x${u.quantity}`).join(' '),
        confirmed: s.confirmationDeliveredAt ?? '',
      })),
      ['id', 'carrier', 'service', 'trackingNumber', 'shipDate', 'lines', 'unmatched', 'confirmed'],
    ),
    '',
    'Timeline',
    table(o.timeline.map((e: any) => ({ ...e, change: e.to ? `${e.from ?? ''} -> ${e.to}` : '' })), ['at', 'event', 'change', 'detail']),
    ...(o.flags.length ? ['', 'Flags', table(o.flags, ['at', 'code', 'detail'])] : []),
    ...(o.pendingFacts.length ? ['', 'Facts not yet delivered to the order (npm run ops -- facts retry|discard <id>)', table(o.pendingFacts.map(factRow), ['id', 'summary', 'receivedAt', 'attempts', 'nextAttemptAt', 'lastError'])] : []),
  ].join('\n');
}

const FACT_COLUMNS = ['id', 'merchantId', 'orderNumber', 'summary', 'receivedAt', 'state', 'attempts', 'lastError'];
const factRow = (f: any) => ({ ...f, state: f.state === 'discarded' ? `discarded: ${f.discardReason}` : f.state });

const needArgs = (positionals: string[], n: number, usage: string) => {
  if (positionals.length < n) throw new UsageError(`missing arguments\nusage: ${usage}`);
  return positionals;
};

const orderAction = (action: string, withReason: boolean): Command => ({
  usage: `npm run ops -- orders ${action} <merchant> <orderNumber>${withReason ? ' --reason R' : ''} [--json]`,
  async run({ positionals, values, json }) {
    const [merchant, number] = needArgs(positionals, 2, this.usage);
    if (withReason && typeof values.reason !== 'string') throw new UsageError(`orders ${action} needs --reason R`);
    const order = await admin('POST', `/api/ops/orders/${path2(merchant!, number!)}/${action}`, withReason ? { reason: values.reason } : undefined);
    print(json, order, () => `${order.orderNumber}: ${action} accepted; status ${order.status}${order.stuck ? `, stuck ${order.stuck.reason}` : ''}`);
  },
});

const COMMANDS: Record<string, Command> = {
  'orders list': {
    usage: 'npm run ops -- orders list [--stuck] [--status S] [--merchant M] [--reason R] [--source S] [--limit N] [--json]',
    async run({ values, json }) {
      const query = new URLSearchParams();
      if (values.stuck) query.set('stuck', 'true');
      for (const key of ['status', 'merchant', 'reason', 'source', 'limit'] as const) if (typeof values[key] === 'string') query.set(key, values[key] as string);
      const { orders } = await admin('GET', `/api/ops/orders?${query}`);
      print(json, orders, () => table(orders.map(orderRow), ORDER_COLUMNS));
    },
  },
  'orders show': {
    usage: 'npm run ops -- orders show <merchant> <orderNumber> [--json]',
    async run({ positionals, json }) {
      const [merchant, number] = needArgs(positionals, 2, this.usage);
      const order = await admin('GET', `/api/ops/orders/${path2(merchant!, number!)}`);
      print(json, order, () => orderSheet(order));
    },
  },
  'orders retry': {
    usage: 'npm run ops -- orders retry <merchant> <orderNumber> | --all-stuck [--merchant M] [--reason R] [--stuck-for 2h] [--json]',
    async run(args) {
      if (!args.values['all-stuck']) return orderAction('retry', false).run(args);
      const body = {
        ...(typeof args.values.merchant === 'string' ? { merchant: args.values.merchant } : {}),
        ...(typeof args.values.reason === 'string' ? { reason: args.values.reason } : {}),
        ...(typeof args.values['stuck-for'] === 'string' ? { stuckFor: args.values['stuck-for'] } : {}),
      };
      let report = await admin('POST', '/api/ops/orders/retry', body);
      // A long run answers with its workflow id first; follow it until the report is there.
      while (report.status === 'running') {
        await new Promise((r) => setTimeout(r, 2000));
        report = await admin('GET', `/api/ops/bulk-retries/${encodeURIComponent(report.workflowId)}`);
      }
      print(args.json, report, () =>
        [
          `bulk retry ${report.workflowId}: ${report.matched} matched, ${report.retried} retried, ${report.refused.length} refused`,
          ...(report.refused.length ? [table(report.refused, ['merchantId', 'orderNumber', 'reason'])] : []),
        ].join('\n'),
      );
    },
  },
  'orders resend': orderAction('resend', false),
  'orders release': orderAction('release', false),
  'orders hold': orderAction('hold', true),
  'orders cancel': orderAction('cancel', true),
  'shipments replay': {
    usage: 'npm run ops -- shipments replay <shipmentId> [--json]',
    async run({ positionals, json }) {
      const [id] = needArgs(positionals, 1, this.usage);
      const result = await admin('POST', `/api/ops/shipments/${encodeURIComponent(id!)}/replay`);
      print(json, result, () =>
        result.delivered
          ? `shipment ${id} of order ${result.orderNumber} replayed (a notice already fully recorded changes nothing)`
          : `shipment ${id} of order ${result.orderNumber}: the replay is stored and will reach the order shortly (see orders show)`,
      );
    },
  },
  'facts list': {
    usage: 'npm run ops -- facts list [--state pending|delivered|not_needed|discarded] [--merchant M] [--limit N] [--json]',
    async run({ values, json }) {
      const query = new URLSearchParams();
      for (const key of ['state', 'merchant', 'limit'] as const) if (typeof values[key] === 'string') query.set(key, values[key] as string);
      const { facts } = await admin('GET', `/api/ops/facts?${query}`);
      print(json, facts, () => table(facts.map(factRow), FACT_COLUMNS));
    },
  },
  'facts retry': {
    usage: 'npm run ops -- facts retry <factId> [--json]',
    async run({ positionals, json }) {
      const [id] = needArgs(positionals, 1, this.usage);
      const result = await admin('POST', `/api/ops/facts/${encodeURIComponent(id!)}/retry`);
      print(json, result, () =>
        result.delivered ? `fact ${id} delivered to its order` : `fact ${id} is still pending (attempt ${result.fact.attempts}): ${result.fact.lastError ?? 'an earlier fact of its order is still pending'}`,
      );
    },
  },
  'facts discard': {
    usage: 'npm run ops -- facts discard <factId> --reason R [--json]',
    async run({ positionals, values, json }) {
      const [id] = needArgs(positionals, 1, this.usage);
      if (typeof values.reason !== 'string') throw new UsageError('facts discard needs --reason R (kept with the fact)');
      const fact = await admin('POST', `/api/ops/facts/${encodeURIComponent(id!)}/discard`, { reason: values.reason });
      print(json, fact, () => `fact ${id} discarded (${fact.summary}); later facts of its order go ahead`);
    },
  },
  'connections create': {
    usage: 'npm run ops -- connections create --merchant M [--source S] [--json]',
    async run({ values, json }) {
      if (typeof values.merchant !== 'string') throw new UsageError(`needs --merchant M\nusage: ${this.usage}`);
      const created = await admin('POST', `/api/admin/merchants/${encodeURIComponent(values.merchant)}/connections`, typeof values.source === 'string' ? { source: values.source } : {});
      print(json, created, () => connectionSheet(created));
    },
  },
  'connections list': {
    usage: 'npm run ops -- connections list --merchant M [--json]',
    async run({ values, json }) {
      if (typeof values.merchant !== 'string') throw new UsageError(`needs --merchant M\nusage: ${this.usage}`);
      const { connections } = await admin('GET', `/api/admin/merchants/${encodeURIComponent(values.merchant)}/connections`);
      print(json, connections, () =>
        table(
          connections.map((c: any) => ({ ...c, scope: c.source ? `source ${c.source}` : 'whole account', state: c.disabled ? `disabled: ${c.disabled.reason}` : 'enabled' })),
          ['username', 'scope', 'state', 'lastExportAt', 'lastShipnotifyAt'],
        ),
      );
    },
  },
  'connections rotate': {
    usage: 'npm run ops -- connections rotate <username> [--json]',
    async run({ positionals, json }) {
      const [username] = needArgs(positionals, 1, this.usage);
      const rotated = await admin('POST', `/api/admin/connections/${encodeURIComponent(username!)}/rotate-password`);
      print(json, rotated, () => connectionSheet(rotated));
    },
  },
  'connections disable': {
    usage: 'npm run ops -- connections disable <username> --reason R',
    async run({ positionals, values, json }) {
      const [username] = needArgs(positionals, 1, this.usage);
      if (typeof values.reason !== 'string') throw new UsageError('connections disable needs --reason R (ShipStation shows it to the merchant)');
      print(json, await admin('POST', `/api/admin/connections/${encodeURIComponent(username!)}/disable`, { reason: values.reason }), () => `${username} disabled`);
    },
  },
  'connections enable': {
    usage: 'npm run ops -- connections enable <username>',
    async run({ positionals, json }) {
      const [username] = needArgs(positionals, 1, this.usage);
      print(json, await admin('POST', `/api/admin/connections/${encodeURIComponent(username!)}/enable`), () => `${username} enabled`);
    },
  },
  'connections log': {
    usage: 'npm run ops -- connections log <username> [--limit N] [--json]',
    async run({ positionals, values, json }) {
      const [username] = needArgs(positionals, 1, this.usage);
      const limit = typeof values.limit === 'string' ? values.limit : '50';
      const log = await admin('GET', `/api/admin/connections/${encodeURIComponent(username!)}/log?limit=${encodeURIComponent(limit)}`);
      print(json, log, () =>
        [
          connectionLine(log.connection),
          table(
            log.requests.map((r: any) => ({ ...r, what: r.windowStart ? `${r.windowStart}..${r.windowEnd} p${r.page ?? '?'}` : (r.orderNumber ?? '') })),
            ['at', 'action', 'status', 'durationMs', 'what', 'error'],
          ),
        ].join('\n'),
      );
    },
  },
  'connections test': {
    usage: 'npm run ops -- connections test <username> [--password P | SS_PASSWORD=P] [--days N]',
    async run({ positionals, values }) {
      const [username] = needArgs(positionals, 1, this.usage);
      const password = typeof values.password === 'string' ? values.password : process.env.SS_PASSWORD;
      if (!password) throw new UsageError('connections test needs the connection password: --password P or SS_PASSWORD=P (only its hash is stored)');
      console.log(await testConnection(username!, password, Number(typeof values.days === 'string' ? values.days : 30)));
    },
  },
};

const OVERVIEW = ['usage: npm run ops -- <group> <command> [options]   (--help on any command)', ...Object.values(COMMANDS).map((c) => `  ${c.usage.replace('npm run ops -- ', '')}`)].join('\n');

export async function runOps(argv: string[]): Promise<void> {
  const [group, command, ...rest] = argv;
  if (!group || group === '--help' || group === '-h' || group === 'help') return void console.log(OVERVIEW);
  if (!command || command === '--help' || command === '-h') {
    const inGroup = Object.entries(COMMANDS).filter(([name]) => name.startsWith(`${group} `));
    if (inGroup.length) return void console.log(inGroup.map(([, c]) => `usage: ${c.usage}`).join('\n'));
  }
  const entry = COMMANDS[`${group} ${command ?? ''}`];
  if (!entry) throw new UsageError(`unknown command "${[group, command].filter(Boolean).join(' ')}"\n${OVERVIEW}`);
  if (rest.includes('--help') || rest.includes('-h')) return void console.log(`usage: ${entry.usage}`);
  let parsed;
  try {
    parsed = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      merchant: { type: 'string' },
      source: { type: 'string' },
      reason: { type: 'string' },
      status: { type: 'string' },
      state: { type: 'string' },
      password: { type: 'string' },
      limit: { type: 'string' },
      days: { type: 'string' },
      'stuck-for': { type: 'string' },
      stuck: { type: 'boolean' },
      'all-stuck': { type: 'boolean' },
      json: { type: 'boolean', default: false },
    },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nusage: ${entry.usage}`);
  }
  const { values, positionals } = parsed;
  await entry.run({ positionals, values, json: values.json === true });
}

if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  runOps(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof UsageError ? error.message : `ops failed: ${(error as Error).message}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  });
}
