/**
 * Export at scale: ShipStation's export endpoint with 1k, 10k and 100k orders in the merchant's read
 * model and a window holding 10% of them.
 *
 * - One merchant and one whole-account connection are made through the API; its orders are then
 *   SEEDED straight into the read model with set-based SQL (3 lines each, realistic addresses and
 *   names), growing through `options.exportSizes` (only the difference is inserted each time).
 *   Every seeded order is `at_wms`: ShipStation has had it already, so serving it again asks no
 *   order workflow to record anything (no Temporal call on the export path; only `pending` orders,
 *   and on-hold ones held from pending, are marked). There are no workflows behind these rows, and
 *   nothing in this scenario needs one.
 * - LastModified values lie in the past (hours before now: no window ends beyond the clock-skew
 *   limit), spread evenly over SPAN_MINUTES minutes by every growth step (the same number of orders
 *   in every minute), so every window of SPAN_MINUTES / 10 whole minutes holds exactly 10% of the
 *   orders (seedOrders). Windows start one minute apart and each is used by one first-page sample
 *   only: a snapshot is cached per (connection, window) for EXPORT_SNAPSHOT_TTL, and a first page
 *   must build its own. The middle and last pages are then asked of those same windows, served from
 *   their snapshots, as ShipStation walks pages 1..N with identical bounds. At 1k a window holds 100
 *   orders, one page: its "middle" and "last" page is page 1 again, served from the snapshot.
 * - Ours = the real HTTP endpoint (GET `<connection url>?action=export&...` with Basic auth), timed
 *   from the request to the last byte of the body, one request at a time. Every answer is checked:
 *   200, a valid `<Orders>` document with the right page count and exactly the orders the bare SQL
 *   returns for that page (100 on full pages); the request log confirms that every first page built
 *   a snapshot and every later page reused one.
 * - Floor = the bare SQL for the same page: one statement returning the same 100 orders (all
 *   columns) and their lines, in the same order, from the same window, through the same database
 *   client, sampled as often as ours and interleaved with it. It seeks to the page's first
 *   (LastModified, OrderID) over the (merchant, last_modified, order_id) index and fetches each
 *   order's lines by its key: a lateral subquery the planner cannot flatten (it is ordered), because
 *   with a plain join PostgreSQL picks a hash join over the whole order_lines table at 10k orders, 5x
 *   slower, which would flatter the ratio. So the floor is the cheapest way SQL produces that page. For context the figures also hold the same page by OFFSET (what paging
 *   without a snapshot would cost) and, for the first page, the bare listing of the window's ids
 *   (what a snapshot has to read).
 */
import { sql, type SQL } from 'drizzle-orm';
import { createMerchant, type BenchMerchant } from '../api';
import { ratio, summarize, type LatencySummary } from '../stats';
import type { ReportRow, Scenario, ScenarioContext } from '../types';
import { encodeShipStationDate, parseExportDocument, shipStationDate } from '../../test/support/shipstation-simulator';

/** LastModified values are spread over this many minutes; a 10% window is a tenth of it. */
const SPAN_MINUTES = 1_000;
const WINDOW_MINUTES = SPAN_MINUTES / 10;
/** The span ends this long before the scenario starts: every window lies wholly in the past. */
const SPAN_ENDS_BEFORE_NOW_MINUTES = 180;
/** EXPORT_PAGE_SIZE as the bench stack runs it (the default). */
const PAGE_SIZE = 100;
const FIRST_PAGE_SAMPLES = 30;
const PAGE_SAMPLES = 100;
/** Requests of each kind sent first and not counted (connections, JIT, caches). */
const WARMUP = 5;
const SEED_BATCH = 25_000;
/** "Flat" from the smallest to the largest size: p99 grows by at most this factor. */
const FLAT_FACTOR = 1.5;

type Execute = ScenarioContext['stack']['database']['db'];

function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as T[];
}

async function query<T>(db: Execute, statement: SQL): Promise<T[]> {
  return rowsOf<T>(await db.execute(statement));
}

// ---------------------------------------------------------------------------------------------
// Seeding

/**
 * Inserts orders number `from`..`to` (1-based) of the merchant, with three lines each, as part of a
 * growth step that adds orders `step.first`.. `step.first + step.count - 1`. Within a step LastModified
 * rises with the order number, evenly spaced over the span: a step whose size is a multiple of
 * SPAN_MINUTES puts exactly `count / SPAN_MINUTES` orders in every minute, so a window of a tenth of
 * the span holds a tenth of every step, hence of the whole read model. Rows lie on disk roughly in
 * LastModified order within each step, and an order's lines next to each other, as the projection
 * writes them (it rewrites an order and its lines whenever it projects a new version).
 * The rows are what a projection writes for an order posted paid and then exported: version 2
 * (created, exported), modified revision 1 (pending -> at_wms stays in ShipStation's "paid" group, so
 * LastModified did not move), timeline created -> exported, status and wait since the export.
 */
export async function seedOrders(db: Execute, merchantId: string, spanStart: Date, step: { first: number; count: number }, from: number, to: number) {
  const catalog = sql`catalog(k, sku, name, price, weight, unit, image) as (values
    (0, 'MUG-BLK-12', 'Ceramic mug, matte black, 12 oz', 9.50, 0.75, 'lb', 'https://cdn.example.com/p/mug-blk-12.jpg'),
    (1, 'TEE-NVY-M', 'Organic cotton T-shirt, navy, size M', 20.00, 0.35, 'lb', 'https://cdn.example.com/p/tee-nvy-m.jpg'),
    (2, 'CAP-KHK', 'Canvas baseball cap, khaki', 12.00, 0.2, 'lb', null),
    (3, 'BTL-STL-750', 'Insulated steel bottle, 750 ml', 24.90, 420, 'g', 'https://cdn.example.com/p/btl-stl-750.jpg'),
    (4, 'NTB-A5-DOT', 'Dotted notebook A5, 120 pages', 7.25, 0.3, 'lb', null),
    (5, 'SCK-WOOL-L', 'Merino wool socks, large', 14.00, 3.5, 'oz', null),
    (6, 'BAG-TOTE-NAT', 'Tote bag, natural canvas', 16.50, 0.4, 'lb', 'https://cdn.example.com/p/bag-tote-nat.jpg'),
    (7, 'PEN-GEL-3PK', 'Gel pens, black, pack of 3', 5.99, 1.2, 'oz', null),
    (8, 'CND-SOY-LAV', 'Soy candle, lavender & cedar', 18.00, 0.9, 'lb', null),
    (9, 'PLT-STN-10', 'Stoneware dinner plate, 10 in', 11.75, 1.1, 'lb', null),
    (10, 'HDY-GRY-XL', 'Pullover hoodie, heather grey, XL', 45.00, 0.6, 'kg', 'https://cdn.example.com/p/hdy-gry-xl.jpg'),
    (11, 'STK-VNL-10', 'Vinyl stickers, pack of 10', 4.50, 0.8, 'oz', null))`;
  // Line p (1..3) of order i: product (i + 4(p - 1)) mod 12 (three different products), quantity 1..3.
  await db.execute(sql`
    with ${catalog},
    people as (
      select i,
        (array['Ada','Grace','Alan','Katherine','Linus','Margaret','Dennis','Barbara','Ken','Frances','Edsger','Radia',
               'Donald','Hedy','John','Anita','Tim','Jean','Guido','Sophie','Bjarne','Mary','Niklaus','Lynn'])[1 + i % 24] as first_name,
        (array['Lovelace','Hopper','Turing','Johnson','Torvalds','Hamilton','Ritchie','Liskov','Thompson','Allen','Dijkstra','Perlman',
               'Knuth','Lamarr','Backus','Borg','Berners-Lee','Bartik','van Rossum','Wilson','Stroustrup','Keller','Wirth','Conway'])[1 + (i / 24) % 24] as last_name,
        (array['Main St','Oak Avenue','Maple Drive','Cedar Lane','Elm Street','Park Road','Lakeview Blvd','Sunset Ave',
               'Hillcrest Rd','Riverside Dr','Washington St','Pine Court'])[1 + i % 12] as street,
        (array['Austin','Portland','Denver','Seattle','Boston','Chicago','Atlanta','Phoenix','Nashville','Minneapolis','Raleigh','San Diego',
               'Salt Lake City','Columbus','Madison','Richmond'])[1 + (i * 7) % 16] as city,
        (array['TX','OR','CO','WA','MA','IL','GA','AZ','TN','MN','NC','CA','UT','OH','WI','VA'])[1 + (i * 7) % 16] as state,
        (array['787','972','802','981','021','606','303','850','372','554','276','921','841','432','537','232'])[1 + (i * 7) % 16]
          || lpad((i % 100)::text, 2, '0') as postal_code,
        -- j-th order of a step of n: minute floor(j * span / n), then evenly spaced within the minute
        ${spanStart.toISOString()}::timestamptz
          + ((i - ${step.first})::bigint * ${SPAN_MINUTES} / ${step.count}) * interval '1 minute'
          + (((i - ${step.first})::bigint * ${SPAN_MINUTES}) % ${step.count} * 60000000 / ${step.count}) * interval '1 microsecond' as last_modified
      from generate_series(${from}::int, ${to}::int) as i
    ),
    priced as (
      select p.*,
        (select sum(c.price * (1 + (p.i + n) % 3)) from generate_series(1, 3) as n join catalog c on c.k = (p.i + 4 * (n - 1)) % 12) as subtotal,
        (array[4.99, 7.45, 0.00])[1 + p.i % 3]::numeric(14, 2) as shipping,
        'EXP-' || lpad(p.i::text, 6, '0') as order_number,
        lower(replace(p.first_name, ' ', '')) || '.' || lower(replace(replace(p.last_name, ' ', ''), '-', '')) || p.i || '@example.com' as email
      from people p
    ),
    addressed as (
      select q.*,
        jsonb_strip_nulls(jsonb_build_object(
          'name', q.first_name || ' ' || q.last_name,
          'company', case when q.i % 6 = 0 then q.last_name || ' & Co.' end,
          'street1', (100 + q.i % 9800)::text || ' ' || q.street,
          'street2', case when q.i % 4 = 0 then 'Apt ' || (1 + q.i % 40)::text end,
          'city', q.city, 'state', q.state, 'postalCode', q.postal_code, 'country', 'US',
          'phone', '512-555-' || lpad((q.i % 10000)::text, 4, '0'))) as ship_to,
        round(q.subtotal * 0.0825, 2) as tax
      from priced q
    )
    insert into orders (
      order_id, merchant_id, order_number, workflow_id, status, source, create_hash, version, modified_revision,
      last_modified, paid, order_date, currency, shipping_method, payment_method, customer_code, customer_email,
      bill_to, ship_to, shipping_amount, tax_amount, total, customer_notes, internal_notes, gift, gift_message,
      custom_fields, requested_warehouse, held_from, hold_reason, served_to_shipstation, cancel_reason,
      stuck_reason, stuck_since, stuck_detail, flags, timeline, status_since, waiting_since, created_at, updated_at,
      personal_data_purged_at)
    select
      'o' || substr(md5(${merchantId} || ':' || a.order_number), 1, 26),
      ${merchantId}, a.order_number, 'order:' || ${merchantId} || ':' || a.order_number, 'at_wms', 'shopify',
      md5(a.order_number) || md5(a.email), 2, 1,
      a.last_modified, true, a.last_modified - interval '47 minutes', 'USD',
      (array['USPS Priority Mail','UPS Ground','FedEx Home Delivery'])[1 + a.i % 3], 'Credit Card',
      'C-' || (10000 + a.i % 50000)::text, a.email,
      a.ship_to || jsonb_build_object('email', a.email), a.ship_to,
      a.shipping, a.tax, a.subtotal + a.tax + a.shipping,
      case when a.i % 5 = 0 then 'Please leave the parcel with the neighbour at number ' || (a.i % 90 + 2)::text || ' if nobody is home.' end,
      case when a.i % 7 = 0 then 'Repeat customer: add a thank-you card.' end,
      a.i % 10 = 0, case when a.i % 10 = 0 then 'Happy birthday, ' || a.first_name || '! Love from all of us.' end,
      jsonb_build_array('web', 'campaign-' || (a.i % 7)::text), case when a.i % 3 = 0 then 'Austin DC' end,
      null, null, true, null, null, null, null, '[]'::jsonb,
      jsonb_build_array(
        jsonb_build_object('at', to_char(a.last_modified at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'event', 'created', 'to', 'pending'),
        jsonb_build_object('at', to_char((a.last_modified + interval '4 minutes') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                           'event', 'exported', 'from', 'pending', 'to', 'at_wms')),
      a.last_modified + interval '4 minutes', a.last_modified + interval '4 minutes',
      a.last_modified, a.last_modified + interval '4 minutes', null
    from addressed a
    order by a.i`);
  await db.execute(sql`
    with ${catalog}
    insert into order_lines (order_id, line_id, position, sku, name, quantity, shipped_quantity, unit_price,
      weight_value, weight_unit, image_url, location, options, adjustment)
    select
      'o' || substr(md5(${merchantId} || ':' || 'EXP-' || lpad(i::text, 6, '0')), 1, 26),
      'L' || n::text, n - 1, c.sku, c.name, 1 + (i + n) % 3, 0, c.price, c.weight, c.unit, c.image,
      'A-' || lpad((1 + (i + n) % 40)::text, 2, '0') || '-' || (1 + n)::text,
      case when (i + n) % 4 = 0 then jsonb_build_array(jsonb_build_object('name', 'Gift wrap', 'value', 'Kraft paper, red ribbon')) else '[]'::jsonb end,
      false
    from generate_series(${from}::int, ${to}::int) as i
    cross join generate_series(1, 3) as n
    join catalog c on c.k = (i + 4 * (n - 1)) % 12
    order by i, n`);
}

// ---------------------------------------------------------------------------------------------
// Windows, our endpoint and the floor

interface Window {
  /** Minutes after the span's start. */
  startMinute: number;
  startText: string;
  endText: string;
  /** Inclusive bounds as the endpoint reads them (the end minute's :59.999). */
  start: string;
  end: string;
}

interface PageKey {
  lastModified: string;
  orderId: string;
}

function windowAt(spanStart: Date, startMinute: number): Window {
  const start = new Date(spanStart.getTime() + startMinute * 60_000);
  const endMinute = new Date(start.getTime() + (WINDOW_MINUTES - 1) * 60_000);
  return {
    startMinute,
    startText: shipStationDate(start),
    endText: shipStationDate(endMinute),
    start: start.toISOString(),
    end: new Date(endMinute.getTime() + 59_999).toISOString(),
  };
}

async function exportPage(merchant: BenchMerchant, window: Window, page: number): Promise<{ ms: number; status: number; text: string }> {
  const { url, username, password } = merchant.connection;
  const query = `action=export&start_date=${encodeShipStationDate(window.startText)}&end_date=${encodeShipStationDate(window.endText)}&page=${page}`;
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const started = performance.now();
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${url}${url.includes('?') ? '&' : '?'}${query}`, { headers: { Authorization: authorization, 'User-Agent': 'ShipStation' } });
    text = await response.text();
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    throw new Error(`export ${window.startText}-${window.endText} page ${page}: ${(error as Error).message}${cause ? ` (${cause instanceof Error ? cause.message : String(cause)})` : ''}`);
  }
  return { ms: performance.now() - started, status: response.status, text };
}

/**
 * After seeding, before measuring. With PGlite the API runs in this process and a long seed blocks
 * its event loop: the server's keep-alive timer for fetch's idle connection then fires in the same
 * turn as the next request, which gets ECONNRESET. Letting the timers run first, and one request
 * that is not measured, leaves fetch a live connection.
 */
async function settle(apiUrl: string) {
  await new Promise((resolve) => setTimeout(resolve, 250));
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(`${apiUrl}/healthz`);
      await response.text();
      return;
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

/**
 * The window's orders as the endpoint orders them: how many, the page count, the middle page, and
 * the first (LastModified, OrderID) of the first, middle and last pages (where the floor seeks to).
 */
async function windowFacts(db: Execute, merchantId: string, window: Window) {
  const inWindow = sql`merchant_id = ${merchantId} and last_modified >= ${window.start}::timestamptz and last_modified <= ${window.end}::timestamptz
    and personal_data_purged_at is null`;
  const [row] = await query<{ n: number }>(db, sql`select count(*)::int as n from orders where ${inWindow}`);
  const count = Number(row!.n);
  const pages = Math.max(1, Math.ceil(count / PAGE_SIZE));
  const middle = Math.floor(pages / 2) + 1;
  const keys = new Map<number, PageKey>();
  for (const page of new Set([1, middle, pages])) {
    const [key] = await query<PageKey>(
      db,
      sql`select last_modified::text as "lastModified", order_id as "orderId" from orders where ${inWindow}
          order by last_modified, order_id offset ${(page - 1) * PAGE_SIZE} limit 1`,
    );
    if (key) keys.set(page, key);
  }
  return { count, pages, middle, keys };
}

/** The floor: one statement, the page's orders (every column) and their lines, in export order. */
async function floorPage(db: Execute, merchantId: string, window: Window, key: PageKey): Promise<{ ms: number; orderIds: string[]; lines: number }> {
  const started = performance.now();
  const rows = await query<{ order_id: string }>(
    db,
    sql`with page as (
          select * from orders
          where merchant_id = ${merchantId}
            and last_modified >= ${window.start}::timestamptz and last_modified <= ${window.end}::timestamptz
            and (last_modified, order_id) >= (${key.lastModified}::timestamptz, ${key.orderId})
            and personal_data_purged_at is null
          order by last_modified, order_id
          limit ${PAGE_SIZE})
        select page.*, l.line_id, l.position, l.sku, l.name, l.quantity, l.shipped_quantity, l.unit_price, l.weight_value,
          l.weight_unit, l.image_url, l.location, l.options, l.adjustment
        from page cross join lateral (select * from order_lines where order_lines.order_id = page.order_id order by position) l
        order by page.last_modified, page.order_id, l.position`,
  );
  const ms = performance.now() - started;
  const orderIds: string[] = [];
  for (const row of rows) if (orderIds.at(-1) !== row.order_id) orderIds.push(row.order_id);
  return { ms, orderIds, lines: rows.length };
}

/** Context only: the same page by OFFSET, as paging without a snapshot would have to. */
async function offsetPage(db: Execute, merchantId: string, window: Window, page: number): Promise<number> {
  const started = performance.now();
  await db.execute(
    sql`with page as (
          select * from orders
          where merchant_id = ${merchantId}
            and last_modified >= ${window.start}::timestamptz and last_modified <= ${window.end}::timestamptz
            and personal_data_purged_at is null
          order by last_modified, order_id
          offset ${(page - 1) * PAGE_SIZE} limit ${PAGE_SIZE})
        select page.*, l.line_id, l.position, l.sku, l.name, l.quantity, l.shipped_quantity, l.unit_price, l.weight_value,
          l.weight_unit, l.image_url, l.location, l.options, l.adjustment
        from page cross join lateral (select * from order_lines where order_lines.order_id = page.order_id order by position) l
        order by page.last_modified, page.order_id, l.position`,
  );
  return performance.now() - started;
}

/** Context only: the bare listing of the window's ids, what building a snapshot has to read. */
async function windowIds(db: Execute, merchantId: string, window: Window): Promise<number> {
  const started = performance.now();
  await db.execute(
    sql`select order_id from orders where merchant_id = ${merchantId}
          and last_modified >= ${window.start}::timestamptz and last_modified <= ${window.end}::timestamptz
          and personal_data_purged_at is null
        order by last_modified, order_id`,
  );
  return performance.now() - started;
}

/** Fails loudly unless the answer is the page the floor returned: 200, `<Orders pages>`, the same orders in the same order. */
function checkAnswer(answer: { status: number; text: string }, what: string, expected: { pages: number; orderIds: string[] }) {
  if (answer.status !== 200) throw new Error(`${what}: HTTP ${answer.status}: ${answer.text.slice(0, 300)}`);
  let parsed: ReturnType<typeof parseExportDocument>;
  try {
    parsed = parseExportDocument(answer.text);
  } catch (error) {
    throw new Error(`${what}: not an export document: ${(error as Error).message}`);
  }
  if (parsed.pages !== expected.pages) throw new Error(`${what}: pages="${parsed.pages}", expected ${expected.pages}`);
  const ids = parsed.orders.map((o) => o.OrderID);
  if (ids.length !== expected.orderIds.length || ids.some((id, i) => id !== expected.orderIds[i])) {
    throw new Error(`${what}: ${ids.length} orders (first ${ids[0]}), expected the bare SQL's ${expected.orderIds.length} (first ${expected.orderIds[0]})`);
  }
  for (const order of parsed.orders) {
    const items = order.Items?.Item;
    if (!Array.isArray(items) || items.length !== 3) throw new Error(`${what}: order ${order.OrderNumber} has ${items?.length ?? 0} items, expected 3`);
  }
}

// ---------------------------------------------------------------------------------------------
// The scenario

interface PageFigures {
  page: number;
  orders: number;
  ours: LatencySummary;
  floor: LatencySummary;
  /** ours / floor at p50 and at p99. */
  ratioP50: number;
  ratioP99: number;
  /** Context: the same page by OFFSET. */
  offsetFloor: LatencySummary;
}

interface SizeFigures {
  orders: number;
  windowOrders: number;
  pages: number;
  seedSeconds: number;
  first: PageFigures & { windows: number; windowIdsFloor: LatencySummary };
  middle: PageFigures;
  last: PageFigures;
}

const label = (n: number) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));
const twoDecimals = (n: number) => Math.round(n * 100) / 100;
const p50p99 = (s: LatencySummary) => `${s.p50Ms} / ${s.p99Ms}`;

export const exportScenario: Scenario = async ({ stack, options, log }) => {
  const db = stack.database.db;
  const sizes = [...options.exportSizes].sort((a, b) => a - b);
  const merchant = await createMerchant(stack, 'export');
  const [connectionRow] = await query<{ id: string }>(db, sql`select id from connections where username = ${merchant.connection.username}`);
  if (!connectionRow) throw new Error(`connection ${merchant.connection.username} is not in the read model`);
  const spanStart = new Date((Math.floor(Date.now() / 60_000) - SPAN_MINUTES - SPAN_ENDS_BEFORE_NOW_MINUTES) * 60_000);
  log(`merchant ${merchant.id}; LastModified spread over ${SPAN_MINUTES} min from ${spanStart.toISOString()}, windows of ${WINDOW_MINUTES} min (10%)`);

  let nextWindowMinute = 0;
  const takeWindow = () => {
    if (nextWindowMinute > SPAN_MINUTES - WINDOW_MINUTES) throw new Error('out of distinct windows: fewer samples or a longer span');
    return windowAt(spanStart, nextWindowMinute++);
  };
  /** How the request log says the export requests since `afterId` were served. */
  const snapshotUse = async (afterId: number) => {
    const rows = await query<{ id: number; reused: string | null; status: number }>(
      db,
      sql`select id, detail->>'snapshotReused' as reused, status from connection_requests
          where connection_id = ${connectionRow.id} and action = 'export' and id > ${afterId} order by id`,
    );
    return { lastId: rows.length ? Number(rows.at(-1)!.id) : afterId, built: rows.filter((r) => r.reused === 'false').length, reused: rows.filter((r) => r.reused === 'true').length, total: rows.length };
  };

  const figures: Record<string, SizeFigures> = {};
  let seeded = 0;
  /** Every step so far puts the same number of orders in every minute: a window then holds exactly 10%. */
  let everyStepExact = true;
  let logCursor = 0;
  for (const size of sizes) {
    // ---- seed up to `size`
    const seedStarted = performance.now();
    const step = { first: seeded + 1, count: size - seeded };
    everyStepExact &&= step.count % SPAN_MINUTES === 0;
    for (let from = step.first; from <= size; from += SEED_BATCH) {
      const to = Math.min(size, from + SEED_BATCH - 1);
      await seedOrders(db, merchant.id, spanStart, step, from, to);
      log(`seeded orders ${from}..${to}`);
    }
    // A bulk load leaves the planner's statistics and the visibility map behind; autovacuum would
    // catch up on its own schedule, possibly in the middle of the measurements. Do it now.
    await db.execute(sql`vacuum analyze orders`);
    await db.execute(sql`vacuum analyze order_lines`);
    const seedSeconds = twoDecimals((performance.now() - seedStarted) / 1000);
    seeded = size;
    const [{ n: total } = { n: 0 }] = await query<{ n: number }>(db, sql`select count(*)::int as n from orders where merchant_id = ${merchant.id}`);
    if (Number(total) !== size) throw new Error(`the read model holds ${total} orders of ${merchant.id}, expected ${size}`);
    await settle(stack.apiUrl);

    // ---- first pages: each on a window of its own (the answer builds the window's snapshot)
    const firstWindows: ({ window: Window } & Awaited<ReturnType<typeof windowFacts>>)[] = [];
    const samples = { first: [] as number[], firstFloor: [] as number[], firstOffset: [] as number[], windowIds: [] as number[] };
    for (let i = 0; i < WARMUP + FIRST_PAGE_SAMPLES; i++) {
      const window = takeWindow();
      const facts = await windowFacts(db, merchant.id, window);
      // Floor first on odd samples, ours first on even ones: neither always gets the warmer cache.
      const floorFirst = i % 2 === 1;
      const floorBefore = floorFirst ? await floorPage(db, merchant.id, window, facts.keys.get(1)!) : null;
      const answer = await exportPage(merchant, window, 1);
      const bare = floorBefore ?? (await floorPage(db, merchant.id, window, facts.keys.get(1)!));
      checkAnswer(answer, `${label(size)} window ${window.startText}-${window.endText} page 1`, { pages: facts.pages, orderIds: bare.orderIds });
      const offsetMs = await offsetPage(db, merchant.id, window, 1);
      const idsMs = await windowIds(db, merchant.id, window);
      if (i < WARMUP) continue;
      firstWindows.push({ window, ...facts });
      samples.first.push(answer.ms);
      samples.firstFloor.push(bare.ms);
      samples.firstOffset.push(offsetMs);
      samples.windowIds.push(idsMs);
    }
    const windowOrders = firstWindows[0]!.count;
    const pages = firstWindows[0]!.pages;
    if (everyStepExact && firstWindows.some((w) => w.count !== size / 10)) {
      throw new Error(`${label(size)}: windows hold ${[...new Set(firstWindows.map((w) => w.count))].join(', ')} orders, expected ${size / 10}`);
    }
    const firstUse = await snapshotUse(logCursor);
    if (firstUse.built !== WARMUP + FIRST_PAGE_SAMPLES || firstUse.total !== firstUse.built) {
      throw new Error(`${label(size)}: of ${firstUse.total} first pages ${firstUse.built} built a snapshot (expected all)`);
    }
    logCursor = firstUse.lastId;
    log(`${label(size)}: ${windowOrders} orders per window, ${pages} pages; first page p50/p99 ${p50p99(summarize(samples.first))} ms`);

    // ---- middle and last pages, round robin over the windows whose snapshots the first pages built
    const measurePage = async (kind: 'middle' | 'last') => {
      const ours: number[] = [];
      const floor: number[] = [];
      const offset: number[] = [];
      let orders = 0;
      let page = 0;
      for (let i = -WARMUP; i < PAGE_SAMPLES; i++) {
        const w = firstWindows[(i + firstWindows.length) % firstWindows.length]!;
        page = kind === 'middle' ? w.middle : w.pages;
        const floorFirst = i % 2 !== 0;
        const floorBefore = floorFirst ? await floorPage(db, merchant.id, w.window, w.keys.get(page)!) : null;
        const answer = await exportPage(merchant, w.window, page);
        const bare = floorBefore ?? (await floorPage(db, merchant.id, w.window, w.keys.get(page)!));
        checkAnswer(answer, `${label(size)} window ${w.window.startText}-${w.window.endText} page ${page}`, { pages: w.pages, orderIds: bare.orderIds });
        orders = page < w.pages ? PAGE_SIZE : w.count - (w.pages - 1) * PAGE_SIZE;
        if (bare.orderIds.length !== orders || bare.lines !== 3 * orders) {
          throw new Error(`${label(size)} page ${page}: ${bare.orderIds.length} orders and ${bare.lines} lines, expected ${orders} and ${3 * orders}`);
        }
        const offsetMs = await offsetPage(db, merchant.id, w.window, page);
        if (i < 0) continue;
        ours.push(answer.ms);
        floor.push(bare.ms);
        offset.push(offsetMs);
      }
      const o = summarize(ours);
      const f = summarize(floor);
      return { page, orders, ours: o, floor: f, ratioP50: ratio(o.p50Ms, f.p50Ms), ratioP99: ratio(o.p99Ms, f.p99Ms), offsetFloor: summarize(offset) } satisfies PageFigures;
    };
    const middle = await measurePage('middle');
    const last = await measurePage('last');
    const laterUse = await snapshotUse(logCursor);
    if (laterUse.reused !== laterUse.total || laterUse.total !== 2 * (WARMUP + PAGE_SAMPLES)) {
      throw new Error(`${label(size)}: of ${laterUse.total} later pages only ${laterUse.reused} reused their window's snapshot`);
    }
    logCursor = laterUse.lastId;
    const firstOurs = summarize(samples.first);
    const firstFloor = summarize(samples.firstFloor);
    figures[label(size)] = {
      orders: size,
      windowOrders,
      pages,
      seedSeconds,
      first: {
        page: 1,
        orders: Math.min(PAGE_SIZE, windowOrders),
        windows: firstWindows.length,
        ours: firstOurs,
        floor: firstFloor,
        ratioP50: ratio(firstOurs.p50Ms, firstFloor.p50Ms),
        ratioP99: ratio(firstOurs.p99Ms, firstFloor.p99Ms),
        offsetFloor: summarize(samples.firstOffset),
        windowIdsFloor: summarize(samples.windowIds),
      },
      middle,
      last,
    };
    log(`${label(size)}: middle page ${middle.page} p50/p99 ${p50p99(middle.ours)} ms (floor ${p50p99(middle.floor)}), last page ${pages} p50/p99 ${p50p99(last.ours)} ms (floor ${p50p99(last.floor)})`);
  }

  // ---- the table
  const rows: ReportRow[] = [];
  for (const size of sizes) {
    const f = figures[label(size)]!;
    const targeted = size >= 100_000;
    rows.push({
      figure: `export ${label(size)} orders: first page, builds the snapshot of ${f.windowOrders} ids (p50 / p99; ratio of p99, p50 ${f.first.ratioP50}x)`,
      ours: p50p99(f.first.ours),
      floor: p50p99(f.first.floor),
      ratio: f.first.ratioP99,
      unit: 'ms',
      ...(targeted ? { target: 'p99 <= 200 ms', met: f.first.ours.p99Ms <= 200 } : { met: null }),
    });
    for (const [kind, page] of [['middle', f.middle], ['last', f.last]] as const) {
      rows.push({
        figure: `export ${label(size)} orders: ${kind} page ${page.page}/${f.pages} (p50 / p99; ratio of p99, p50 ${page.ratioP50}x)`,
        ours: p50p99(page.ours),
        floor: p50p99(page.floor),
        ratio: page.ratioP99,
        unit: 'ms',
        ...(targeted ? { target: 'p99 <= 50 ms and <= 3x floor', met: page.ours.p99Ms <= 50 && page.ratioP99 <= 3 } : { met: null }),
      });
    }
  }
  if (sizes.length > 1) {
    const small = figures[label(sizes[0]!)]!;
    const large = figures[label(sizes.at(-1)!)]!;
    for (const kind of ['first', 'middle', 'last'] as const) {
      const growth = ratio(large[kind].ours.p99Ms, small[kind].ours.p99Ms);
      const flat = kind !== 'first' && sizes.at(-1)! >= 100_000;
      rows.push({
        figure: `export p99 ${label(sizes[0]!)} -> ${label(sizes.at(-1)!)} orders, ${kind} page (floor: its own; p50 ${small[kind].ours.p50Ms} -> ${large[kind].ours.p50Ms} ms)`,
        ours: `${small[kind].ours.p99Ms} -> ${large[kind].ours.p99Ms}`,
        floor: `${small[kind].floor.p99Ms} -> ${large[kind].floor.p99Ms}`,
        ratio: growth,
        unit: 'ms',
        ...(flat ? { target: `flat (p99 grows <= ${FLAT_FACTOR}x)`, met: growth <= FLAT_FACTOR } : { met: null }),
      });
    }
  }

  return {
    scenario: 'export',
    figures: {
      parameters: {
        sizes,
        pageSize: PAGE_SIZE,
        linesPerOrder: 3,
        windowShare: 0.1,
        spanMinutes: SPAN_MINUTES,
        windowMinutes: WINDOW_MINUTES,
        firstPageSamples: FIRST_PAGE_SAMPLES,
        pageSamples: PAGE_SAMPLES,
        warmupRequests: WARMUP,
        floor: 'one SQL statement: the page (keyset seek to its first (last_modified, order_id)) joined with its lines, same client',
        flatFactor: FLAT_FACTOR,
      },
      sizes: figures,
    },
    rows,
  };
};
