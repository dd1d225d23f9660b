/**
 * Requests for the ShipStation endpoint as fast-check arbitraries, each with the answer the protocol
 * (docs/shipstation.md, shared/design/shipstation-custom-store.md) calls for. Pure: it builds requests
 * and expectations and sends nothing; test/shipstation-fuzz.test.ts sends them over HTTP.
 *
 * A request is assembled from independent dimensions (credentials, action, method, the action's own
 * parameters, body, size, noise). Each dimension is drawn either from values the protocol accepts or
 * from hostile ones, and carries its own verdict; `expectedStatus` (the oracle) combines the verdicts
 * in the order the endpoint decides: body size, credentials, action, method, then the action's input.
 * The mode ('valid' or 'hostile') only biases which draws are made: the expectation always comes from
 * the values actually drawn, never from the mode, and each mode filters on that expectation (valid
 * mode keeps the 200s, hostile mode the rest).
 */
import fc from 'fast-check';

export interface FuzzOrder {
  orderId: string;
  orderNumber: string;
}

export interface FuzzConnection {
  username: string;
  password: string;
}

/** What the fuzzed stack holds, as the generators need to know it. */
export interface FuzzWorld {
  maxNoticeBytes: number;
  /** An enabled connection: the one valid requests use. */
  active: FuzzConnection;
  /** A disabled connection (403 with the right password). */
  disabled: FuzzConnection;
  /**
   * The connection that takes every wrong password: credential failures are counted (and throttled)
   * per username, so they are aimed here and never lock out the active connection.
   */
  target: FuzzConnection;
  /** Orders in the active connection's scope. */
  orders: FuzzOrder[];
  /** Another merchant's orders: never found through the active connection. */
  foreignOrders: FuzzOrder[];
}

export type FuzzMode = 'valid' | 'hostile';

export interface FuzzRequest {
  method: string;
  /** Path and query exactly as written on the request line. */
  target: string;
  headers: Record<string, string>;
  body: Buffer | null;
  /** Sent with Transfer-Encoding: chunked instead of Content-Length. */
  chunked: boolean;
}

export interface FuzzCase {
  /** What the request is made of (action, method, each dimension's draw), for failure messages and the tally. */
  label: string;
  request: FuzzRequest;
  /** The status the protocol calls for. */
  expected: number;
  /** The known connection the call authenticates as (its request log gains a row), if any. */
  loggedAs: 'active' | 'disabled' | null;
  /** An accepted notice with a tracking number: the shipment that must reach the read model. */
  shipment?: { orderId: string; trackingNumber: string };
}

// ---- the oracle -------------------------------------------------------------------------------------

type Authn = 'active' | 'disabled' | 'refused';
type ActionKind = 'export' | 'shipnotify' | 'unknown';

/** A notice body as the endpoint reads it (only POST bodies are read: GET and HEAD carry none). */
type BodyVerdict =
  | { kind: 'blank' }
  | { kind: 'notice'; orderId: FuzzOrder | null; orderNumber: FuzzOrder | null; tracking: string | undefined }
  | { kind: 'unreadable' };

interface Verdicts {
  method: string;
  bodyBytes: number | null;
  authn: Authn;
  action: ActionKind;
  /** export: start_date/end_date and page are acceptable. */
  exportInput: boolean;
  /** shipnotify: what the body is, and which of our orders the query's order_number names. */
  body: BodyVerdict;
  queryOrder: FuzzOrder | null;
  queryTracking: string | undefined;
}

const BODILESS = new Set(['GET', 'HEAD']);

/** The status the endpoint must answer, decided in the order the protocol gives. */
export function expectedStatus(v: Verdicts, maxNoticeBytes: number): number {
  // The size cap applies before anything is read; GET and HEAD bodies are never read at all.
  if (!BODILESS.has(v.method) && v.bodyBytes !== null && v.bodyBytes > maxNoticeBytes) return 413;
  if (v.authn === 'refused') return 401;
  if (v.authn === 'disabled') return 403;
  if (v.action === 'unknown') return 400;
  if (v.action === 'export') {
    if (!BODILESS.has(v.method)) return 405;
    return v.exportInput ? 200 : 400;
  }
  if (v.method !== 'POST' && v.method !== 'GET') return 405;
  const body: BodyVerdict = v.method === 'POST' ? v.body : { kind: 'blank' };
  if (body.kind === 'unreadable') return 400;
  return noticeOrder(body, v.queryOrder) ? 200 : 404;
}

/** The order a notice lands on: the body's OrderID when ours, else order_number, else the body's OrderNumber. */
function noticeOrder(body: BodyVerdict, queryOrder: FuzzOrder | null): FuzzOrder | null {
  if (body.kind === 'notice') return body.orderId ?? queryOrder ?? body.orderNumber;
  return queryOrder;
}

// ---- encodings ----------------------------------------------------------------------------------------

type Encoding = 'component' | 'plus' | 'every-byte' | 'lower-hex';
const encodingArb = fc.constantFrom<Encoding>('component', 'plus', 'every-byte', 'lower-hex');

/** Percent-encodes `value` in one of the legal spellings a client may use; all decode to `value`. */
function encode(value: string, encoding: Encoding): string {
  const text = value.toWellFormed();
  switch (encoding) {
    case 'component':
      return encodeURIComponent(text);
    case 'plus':
      return encodeURIComponent(text).replace(/%20/g, '+');
    case 'lower-hex':
      return encodeURIComponent(text).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
    case 'every-byte':
      return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
  }
}

/** `name=value` with both sides encoded alike. */
const param = (name: string, value: string, encoding: Encoding) => `${encode(name, encoding)}=${encode(value, encoding)}`;

/** Free text: any graphemes except the characters XML 1.0 cannot carry (those are their own case). */
const freeText = (maxLength = 30) =>
  fc.string({ unit: 'grapheme', maxLength }).map((s) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').toWellFormed());

/** Byte sequences no UTF-8 decoder accepts: a stray continuation, a cut sequence, an overlong form, an encoded surrogate, 0xFF. */
const INVALID_UTF8: number[][] = [[0x80], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff, 0xfe], [0xf8, 0x88, 0x80, 0x80, 0x80]];
const invalidUtf8Arb = fc.constantFrom(...INVALID_UTF8).map((bytes) => Buffer.from(bytes));

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);

// ---- credentials --------------------------------------------------------------------------------------

interface CredentialDraw {
  authn: Authn;
  parts: string[];
  headers: Record<string, string>;
  label: string;
}

const basic = (username: string, password: string, scheme = 'Basic') => `${scheme} ${Buffer.from(`${username}:${password}`).toString('base64')}`;
const schemeArb = pick(['Basic', 'basic', 'BASIC']);
const userParamArb = pick(['SS-UserName', 'ss-username', 'SS-USERNAME', 'Ss-UsErNaMe']);
const passwordParamArb = pick(['SS-Password', 'ss-password', 'SS-PASSWORD']);

/** The right username and password, by Basic, by query parameters, or by both (agreeing). */
function rightCredentials(connection: FuzzConnection, authn: Authn): fc.Arbitrary<CredentialDraw> {
  return fc
    .record({ via: pick(['basic', 'query', 'both'] as const), scheme: schemeArb, userParam: userParamArb, passwordParam: passwordParamArb, encoding: encodingArb })
    .map(({ via, scheme, userParam, passwordParam, encoding }): CredentialDraw => ({
      authn,
      label: `credentials:${authn}-${via}`,
      headers: via === 'query' ? {} : { Authorization: basic(connection.username, connection.password, scheme) },
      parts: via === 'basic' ? [] : [param(userParam, connection.username, encoding), param(passwordParam, connection.password, encoding)],
    }));
}

/** Credentials that must be refused (401). Wrong passwords only ever name the throttle target. */
function refusedCredentials(world: FuzzWorld): fc.Arbitrary<CredentialDraw> {
  const { target, disabled } = world;
  const draw = (label: string, headers: Record<string, string>, parts: string[] = []): CredentialDraw => ({ authn: 'refused', label: `credentials:${label}`, headers, parts });
  const wrongPassword = freeText(40).filter((p) => p !== target.password);
  const unknownUser = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }).map((u) => `nobody-${u}`);
  return fc.oneof(
    fc.constant(draw('none', {})),
    fc.tuple(wrongPassword, schemeArb).map(([p, scheme]) => draw('wrong-password-basic', { Authorization: basic(target.username, p, scheme) })),
    fc.tuple(wrongPassword, encodingArb).map(([p, e]) => draw('wrong-password-query', {}, [param('SS-UserName', target.username, e), param('SS-Password', p, e)])),
    fc.tuple(unknownUser, freeText(20)).map(([u, p]) => draw('unknown-user', { Authorization: basic(u, p) })),
    // Both sources sent, disagreeing: each alone would be right (or name another connection).
    fc.tuple(wrongPassword, encodingArb).map(([p, e]) => draw('conflict-password', { Authorization: basic(target.username, target.password) }, [param('SS-UserName', target.username, e), param('SS-Password', p, e)])),
    encodingArb.map((e) => draw('conflict-user', { Authorization: basic(target.username, target.password) }, [param('SS-UserName', disabled.username, e), param('SS-Password', disabled.password, e)])),
    pick(['Basic', 'Basic ', 'Basic !!!', 'Basic a b', `Basic ${Buffer.from('no-colon').toString('base64')}`]).map((h) => draw('malformed-basic', { Authorization: h })),
    pick(['Bearer abc', `Digest username="${target.username}"`, 'Negotiate x']).map((h) => draw('other-scheme', { Authorization: h })),
    fc.constant(draw('empty-username', { Authorization: basic('', target.password) })),
    fc.constant(draw('username-only', {}, [param('SS-UserName', target.username, 'component')])),
    // Characters the database cannot hold, or that only look like the username.
    pick([`${target.username}\u0000`, `\u0000`, target.username.toUpperCase(), `${target.username}\u200b`, ` ${target.username}`]).chain((u) =>
      encodingArb.map((e) => draw('odd-username', {}, [param('SS-UserName', u, e), param('SS-Password', target.password, e)])),
    ),
  );
}

// ---- action and method -------------------------------------------------------------------------------

interface ActionDraw {
  kind: ActionKind;
  parts: string[];
  label: string;
}

function rightAction(kind: 'export' | 'shipnotify'): fc.Arbitrary<ActionDraw> {
  const spellings = kind === 'export' ? ['export', 'Export', 'EXPORT', 'eXpOrT'] : ['shipnotify', 'ShipNotify', 'SHIPNOTIFY', 'shipNotify'];
  return fc.tuple(pick(spellings), encodingArb).map(([value, e]) => ({ kind, label: `action:${kind}`, parts: [param('action', value, e)] }));
}

/** Missing, empty or unknown actions: nothing here contains either action's name. */
const wrongAction: fc.Arbitrary<ActionDraw> = fc.oneof(
  fc.constant<ActionDraw>({ kind: 'unknown', label: 'action:missing', parts: [] }),
  fc.constant<ActionDraw>({ kind: 'unknown', label: 'action:empty', parts: ['action='] }),
  fc.constant<ActionDraw>({ kind: 'unknown', label: 'action:no-value', parts: ['action'] }),
  pick(['%00export', 'ex%00port', 'exp%C3%B6rt', 'ship-notify', 'ship%20notify', 'exports', 'shipnotify2', '%FF%FE', '%', '%zz', 'EXPORT%2CSHIPNOTIFY', '%E9']).map((raw) => ({
    kind: 'unknown' as const,
    label: 'action:odd',
    parts: [`action=${raw}`],
  })),
  freeText(20)
    .filter((s) => !/export|shipnotify/i.test(s))
    .chain((s) => encodingArb.map((e) => ({ kind: 'unknown' as const, label: 'action:random', parts: [param('action', s, e)] }))),
);

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/** Methods whose body the server reads (GET and HEAD bodies are dropped before the app sees them). */
const BODY_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

// ---- export input -------------------------------------------------------------------------------------

interface DateParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number | null;
  form: 'padded' | 'short' | '12h' | 'date-only';
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (y: number, m: number) => [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;

/** A date ShipStation could send: every field in range, years 0001-9999 (there is no year 0). */
const realDate: fc.Arbitrary<DateParts> = fc
  .record({
    year: fc.oneof(fc.integer({ min: 1, max: 9999 }), pick([1, 1970, 1999, 2000, 2024, 2026, 2027, 9999])),
    month: fc.integer({ min: 1, max: 12 }),
    dayFraction: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.option(fc.integer({ min: 0, max: 59 }), { nil: null }),
    form: pick(['padded', 'short', '12h', 'date-only'] as const),
  })
  .map(({ dayFraction, ...p }) => ({ ...p, day: 1 + Math.floor(dayFraction * daysIn(p.year, p.month)) }));

/** A date in the right shape with one field out of range (month 13, Feb 30, 24:00, 12 PM written 13, year 0). */
const impossibleDate: fc.Arbitrary<DateParts> = realDate.chain((d) =>
  fc.oneof(
    fc.integer({ min: 13, max: 99 }).map((month) => ({ ...d, month })),
    fc.constant({ ...d, month: 0 }),
    fc.integer({ min: 0, max: 99 }).map((extra) => ({ ...d, day: extra === 0 ? 0 : Math.min(99, daysIn(d.year, d.month) + extra) })),
    fc.integer({ min: 24, max: 99 }).map((hour) => ({ ...d, hour, form: 'padded' as const })),
    fc.integer({ min: 60, max: 99 }).map((minute) => ({ ...d, minute, form: d.form === 'date-only' ? ('padded' as const) : d.form })),
    fc.integer({ min: 60, max: 99 }).map((second) => ({ ...d, second, form: 'padded' as const })),
    fc.constant({ ...d, year: 0 }),
  ),
);

function renderDate(d: DateParts, meridiem: string): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const year = String(d.year).padStart(4, '0');
  const day = d.form === 'short' ? `${d.month}/${d.day}/${year}` : `${two(d.month)}/${two(d.day)}/${year}`;
  if (d.form === 'date-only') return day;
  const seconds = d.second === null ? '' : `:${two(d.second)}`;
  if (d.form === '12h') {
    // An out-of-range hour is written as it is (hour 13 with PM), which a 12-hour clock refuses too.
    const hour12 = d.hour > 23 ? d.hour : d.hour % 12 || 12;
    const suffix = d.hour < 12 ? meridiem.replace(/p/i, (c) => (c === 'p' ? 'a' : 'A')) : meridiem;
    return `${day} ${hour12}:${two(d.minute)}${seconds}${suffix}`;
  }
  return `${day} ${d.form === 'short' ? d.hour : two(d.hour)}:${two(d.minute)}${seconds}`;
}

function dateIsReal(d: DateParts): boolean {
  const clockOk = d.form === 'date-only' || (d.hour <= 23 && d.minute <= 59 && (d.second ?? 0) <= 59);
  return d.year >= 1 && d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= daysIn(d.year, d.month) && clockOk;
}

/** The first and last instant a date covers as a window bound: a minute, or the whole day for a date-only end. */
function dateBounds(d: DateParts): { first: number; last: number } {
  const date = new Date(0);
  date.setUTCFullYear(d.year, d.month - 1, d.day);
  date.setUTCHours(d.form === 'date-only' ? 0 : d.hour, d.form === 'date-only' ? 0 : d.minute, 0, 0);
  const first = date.getTime();
  return { first, last: first + (d.form === 'date-only' ? 86_400_000 : 60_000) - 1 };
}

/** Things that are not dates in ShipStation's form at all. */
const NOT_DATES = [
  '',
  '   ',
  'yesterday',
  'now',
  '2026-11-30T10:00:00Z',
  '2026/11/30 10:00',
  '11-30-2026 10:00',
  '11/30/26 10:00',
  '11/30/20260 10:00',
  '11/30/2026 10',
  '11/30/2026 10:00 XM',
  '11/30/2026 1:2',
  '99999999999999999999',
  '-1',
  '0',
  '1e308',
  'NaN',
  'Infinity',
  '١١/٣٠/٢٠٢٦ ١٠:٠٠',
  '１１/３０/２０２６ １０:００',
  '11/30/2026\u000010:00',
  '11/30/2026 10:00\u0000',
  '1'.repeat(1500),
  '11/'.repeat(300),
  '<script>alert(1)</script>',
  "'; drop table orders; --",
];

type DateDraw = { text: string | null; label: string; parts: DateParts | null };

/** A raw, already encoded spelling of a non-date (percent signs that decode to nothing, bytes that are not UTF-8). */
const RAW_NOT_DATES = ['%', '%zz', '%FF%FE', '%C3', '11%2F30%2F2026%2010%3A00%00', '%E9%E9'];

const notADate: fc.Arbitrary<DateDraw & { raw?: string }> = fc.oneof(
  pick(NOT_DATES).map((text) => ({ text, label: 'not-a-date', parts: null })),
  pick(RAW_NOT_DATES).map((raw) => ({ text: raw, raw, label: 'not-a-date-raw', parts: null })),
  freeText(30)
    .filter((s) => !/\d{1,2}\/\d{1,2}\/\d{4}/.test(s))
    .map((text) => ({ text, label: 'random', parts: null })),
);

interface ExportDraw {
  ok: boolean;
  parts: string[];
  label: string;
}

const meridiemArb = pick(['PM', 'pm', ' PM', ' p.m.', ' P.M.', 'Pm']);

function dateParam(name: string, draw: DateDraw & { raw?: string }, encoding: Encoding): string[] {
  if (draw.text === null) return [];
  if (draw.raw !== undefined) return [`${name}=${draw.raw}`];
  return [param(name, draw.text, encoding)];
}

/** start_date, end_date and page, valid or not, with the verdict the protocol gives them. */
function exportInput(mode: FuzzMode): fc.Arbitrary<ExportDraw> {
  const real = fc.tuple(realDate, meridiemArb).map(([parts, m]): DateDraw => ({ text: renderDate(parts, m), label: 'date', parts }));
  const impossible = fc.tuple(impossibleDate, meridiemArb).map(([parts, m]): DateDraw => ({ text: renderDate(parts, m), label: 'impossible-date', parts }));
  const missing = fc.constant<DateDraw>({ text: null, label: 'missing', parts: null });
  const anyDate = fc.oneof({ arbitrary: real, weight: 3 }, impossible, notADate, missing);

  const validPage = fc.oneof(
    fc.constant<string | null>(null),
    pick(['', '1', '2', '0001', ' 3 ', '999999']),
    fc.integer({ min: 1, max: 999_999 }).map(String),
  );
  const badPage = pick(['0', '00', '-1', '1.5', '1e3', '0x1F', '1000000', '99999999999999999999', 'abc', 'NaN', '١', '１', '\u0000', '1\u00002', '+-1', 'Infinity']);

  const dates = mode === 'valid' ? fc.tuple(real, real) : fc.tuple(anyDate, anyDate);
  const page = mode === 'valid' ? validPage : fc.oneof(validPage, badPage);
  return fc.record({ dates, page, startEnc: encodingArb, endEnc: encodingArb, pageEnc: encodingArb }).map(({ dates: [a, b], page, startEnc, endEnc, pageEnc }) => {
    let [start, end] = [a, b];
    // Valid mode puts the earlier date first; hostile mode keeps the order drawn (reversed windows included).
    if (mode === 'valid' && start.parts && end.parts && dateBounds(start.parts).first > dateBounds(end.parts).first) [start, end] = [end, start];
    const datesOk =
      start.parts !== null && end.parts !== null && dateIsReal(start.parts) && dateIsReal(end.parts) && dateBounds(end.parts).last >= dateBounds(start.parts).first;
    const trimmedPage = page?.trim() ?? '';
    const pageOk = trimmedPage === '' || (/^[0-9]{1,6}$/.test(trimmedPage) && Number(trimmedPage) >= 1);
    const reversed = start.parts && end.parts && dateIsReal(start.parts) && dateIsReal(end.parts) && !datesOk;
    return {
      ok: datesOk && pageOk,
      parts: [
        ...dateParam('start_date', start, startEnc),
        ...dateParam('end_date', end, endEnc),
        ...(page === null ? [] : [param('page', page, pageEnc)]),
      ],
      label: `start:${start.label},end:${end.label}${reversed ? ',reversed' : ''},page:${pageOk ? 'ok' : 'bad'}`,
    };
  });
}

// ---- shipnotify input ---------------------------------------------------------------------------------

/** One piece of document text: a string, or raw bytes (which may not be UTF-8). */
type Chunk = string | Buffer;

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cdata = (s: string) => `<![CDATA[${s.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;

/** A text value: escaped or in CDATA, possibly with bytes that are not UTF-8 in it (they decode to U+FFFD). */
interface TextValue {
  text: string;
  asCdata: boolean;
  badBytes: Buffer | null;
}

const textValue = (text: fc.Arbitrary<string>, allowBadBytes: boolean) =>
  fc.record({ text, asCdata: fc.boolean(), badBytes: allowBadBytes ? fc.option(invalidUtf8Arb, { nil: null }) : fc.constant(null) });

function element(name: string, value: TextValue): Chunk[] {
  const inner: Chunk[] = value.asCdata ? ['<![CDATA[', value.text.replaceAll(']]>', ']]]]><![CDATA[>')] : [escapeText(value.text)];
  if (value.badBytes) inner.push(value.badBytes);
  if (value.asCdata) inner.push(']]>');
  return [`<${name}>`, ...inner, `</${name}>`];
}

const plain = (text: string): TextValue => ({ text, asCdata: false, badBytes: null });

/**
 * Text that a careless parser could mistake for markup, or that ShipStation sends in free text fields.
 * Control characters (NUL included) are not XML 1.0, but the notice reader takes them as text and the
 * notice is accepted: what it records must then be storable all the same.
 */
const TRICKY_TEXT = ['<!DOCTYPE x [<!ENTITY a "b">]>', ']]>', '&amp;', 'a & b < c > d', 'file:///etc/passwd', '\u202eevil', '😀👍🏽', '&#x1F600;', ' ', '"quoted" \'single\'', 'nul\u0000and\u0001bell\u0007'];
const noteText = fc.oneof(freeText(60), pick(TRICKY_TEXT));

type Reference = { kind: string; value: string | null; resolves: FuzzOrder | null };

/**
 * Ways to name an order in one slot (body OrderID, body OrderNumber or the query's order_number),
 * and which of the active connection's orders each resolves to in that slot.
 */
function referenceArb(world: FuzzWorld, slot: 'orderId' | 'orderNumber', wantResolving: boolean | null): fc.Arbitrary<Reference> {
  const own = pick(world.orders);
  const resolving = fc.oneof(
    own.map((o): Reference => ({ kind: 'own', value: slot === 'orderId' ? o.orderId : o.orderNumber, resolves: o })),
    own.map((o): Reference => ({ kind: 'own-padded', value: `  ${slot === 'orderId' ? o.orderId : o.orderNumber} `, resolves: o })),
  );
  const other = fc.oneof(
    fc.constant<Reference>({ kind: 'absent', value: null, resolves: null }),
    pick(world.foreignOrders).map((o): Reference => ({ kind: 'foreign', value: slot === 'orderId' ? o.orderId : o.orderNumber, resolves: null })),
    // The right order under the other field's name, or with its case changed: order references are exact.
    own.map((o): Reference => ({ kind: 'cross-field', value: slot === 'orderId' ? o.orderNumber : o.orderId, resolves: null })),
    own.map((o): Reference => ({ kind: 'case-changed', value: changeCase(slot === 'orderId' ? o.orderId : o.orderNumber), resolves: null })),
    freeText(30)
      .filter((s) => s.trim() !== '')
      .map((value): Reference => ({ kind: 'random', value, resolves: null })),
    fc.constant<Reference>({ kind: 'long', value: 'N'.repeat(1500), resolves: null }),
  );
  if (wantResolving === true) return resolving;
  if (wantResolving === false) return other;
  return fc.oneof(resolving, other);
}

/** The same text with its letters' case swapped (our order ids and numbers all contain letters). */
const changeCase = (value: string) => [...value].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');

/** Query-only references the body cannot carry: a NUL (which the database cannot hold either). */
function queryOnlyReference(world: FuzzWorld): fc.Arbitrary<Reference> {
  return pick(world.orders).chain((o) =>
    pick([`${o.orderNumber}\u0000`, `\u0000${o.orderNumber}`, '\u0000']).map((value): Reference => ({ kind: 'nul', value, resolves: null })),
  );
}

interface NoticeDraw {
  body: Buffer;
  verdict: BodyVerdict;
  label: string;
}

const trackingArb = fc.stringMatching(/^[A-Z0-9]{14,22}$/).map((t) => `FZ${t}`);

/** A well-formed `<ShipNotice>` around the given references, with everything else a notice may hold. */
function noticeDocument(refs: { orderId: Reference; orderNumber: Reference }): fc.Arbitrary<{ chunks: Chunk[]; tracking: string | undefined }> {
  const line = pick(['L1', 'L2', 'D1', 'NOPE']);
  const sku = pick(['MUG-1', 'mug-1', 'TEE-M', 'UNKNOWN-SKU', '']);
  // Quantities the endpoint accepts: whole numbers of at least 1, however large (over-shipment is recorded and flagged).
  const quantity = fc.oneof(fc.integer({ min: 1, max: 5 }).map(String), pick(['007', '99999', '2147483648', '9007199254740991']));
  const item = fc.record({ lineItemId: fc.option(line, { nil: undefined }), sku: fc.option(sku, { nil: undefined }), quantity, asCdata: fc.boolean() });
  return fc
    .record({
      bom: fc.boolean(),
      leading: pick(['', '\n', '  \r\n\t']),
      declaration: pick(['', '<?xml version="1.0" encoding="utf-8"?>\n', '<?xml version="1.0"?>']),
      comment: pick(['', '<!-- from ShipStation -->\n', '<!---->']),
      tracking: fc.option(trackingArb, { nil: undefined }),
      carrier: fc.option(pick(['UPS', 'USPS', 'FedEx', '42', 'Other', '']), { nil: undefined }),
      notes: fc.array(fc.tuple(pick(['InternalNotes', 'CustomerNotes', 'NotesToCustomer', 'CustomField1', 'CustomField3', 'RequestedWarehouse', 'Unknown']), textValue(noteText, true)), { maxLength: 4 }),
      // Informational fields: a value that does not parse is left out with a warning, never refused.
      labelDate: fc.option(pick(['11/30/2026 10:00', '1/2/2026 3:04 PM', '01/01/0001 00:00', '12/31/9999 23:59', '01/01/0000 00:00', '02/30/2026 10:00', 'soon']), { nil: undefined }),
      shipDate: fc.option(pick(['11/30/2026', '01/01/0001', '12/31/9999', '00/00/0000', 'today']), { nil: undefined }),
      cost: fc.option(pick(['7.45', '4.9500', '0', '-1.00', '999999999999.99', '1e3', '9999999999999', 'free']), { nil: undefined }),
      notify: fc.option(pick(['true', 'FALSE', '', 'maybe']), { nil: undefined }),
      items: fc.option(fc.array(item, { maxLength: 3 }), { nil: undefined }),
      // Element order is free in the protocol.
      shuffle: fc.boolean(),
    })
    .map((d) => {
      const fields: Chunk[][] = [];
      const add = (name: string, value: string | undefined, asCdata = false) => {
        if (value !== undefined) fields.push(element(name, { text: value, asCdata, badBytes: null }));
      };
      add('OrderID', refs.orderId.value ?? undefined, true);
      add('OrderNumber', refs.orderNumber.value ?? undefined);
      add('Carrier', d.carrier);
      add('TrackingNumber', d.tracking);
      add('LabelCreateDate', d.labelDate);
      add('ShipDate', d.shipDate);
      add('ShippingCost', d.cost);
      add('NotifyCustomer', d.notify);
      for (const [name, value] of d.notes) fields.push(element(name, value));
      if (d.items !== undefined) {
        const items: Chunk[] = ['<Items>'];
        for (const i of d.items) {
          items.push('<Item>');
          if (i.lineItemId !== undefined) items.push(...element('LineItemID', { ...plain(i.lineItemId), asCdata: i.asCdata }));
          if (i.sku !== undefined) items.push(...element('SKU', { ...plain(i.sku), asCdata: i.asCdata }));
          items.push(...element('Quantity', plain(i.quantity)), '</Item>');
        }
        items.push('</Items>');
        fields.push(items);
      }
      if (d.shuffle) fields.reverse();
      const chunks: Chunk[] = [d.bom ? '\uFEFF' : '', d.leading, d.declaration, d.comment, '<ShipNotice>\n', ...fields.flat(), '</ShipNotice>\n'];
      return { chunks, tracking: d.tracking };
    });
}

const toBuffer = (chunks: Chunk[]) => Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)));

/** Pads a document to exactly `size` bytes with an element the notice does not know (ignored). */
function padTo(document: Buffer, size: number): Buffer {
  const close = '</ShipNotice>';
  const at = document.lastIndexOf(close);
  const overhead = '<Padding></Padding>'.length;
  const fill = size - document.length - overhead;
  if (at < 0 || fill < 0) return document;
  return Buffer.concat([document.subarray(0, at), Buffer.from(`<Padding>${'x'.repeat(fill)}</Padding>`), document.subarray(at)]);
}

/** Bodies the endpoint must refuse with 400: not a readable `<ShipNotice>` document. */
function unreadableBody(world: FuzzWorld): fc.Arbitrary<NoticeDraw> {
  const own = world.orders[0]!;
  const refs = { orderId: { kind: 'own', value: own.orderId, resolves: own }, orderNumber: { kind: 'own', value: own.orderNumber, resolves: own } };
  const wellFormed = noticeDocument(refs).map((d) => toBuffer(d.chunks));
  const refused = (label: string) => (body: Buffer): NoticeDraw => ({ body, verdict: { kind: 'unreadable' }, label: `body:${label}` });
  const notice = `<ShipNotice><OrderNumber>${own.orderNumber}</OrderNumber><TrackingNumber>X1</TrackingNumber></ShipNotice>`;
  const declarations = [
    `<?xml version="1.0"?><!DOCTYPE ShipNotice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><ShipNotice><OrderNumber>${own.orderNumber}</OrderNumber><TrackingNumber>&xxe;</TrackingNumber></ShipNotice>`,
    `<!DOCTYPE ShipNotice SYSTEM "http://127.0.0.1:1/evil.dtd">${notice}`,
    `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><ShipNotice><OrderNumber>&lol9;</OrderNumber></ShipNotice>`,
    `<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p.dtd"> %p;]>${notice}`,
    `<!doctype ShipNotice>${notice}`,
    `<!-- c --><!DOCTYPE ShipNotice>${notice}`,
    `<ShipNotice><!ENTITY x "y"><OrderNumber>${own.orderNumber}</OrderNumber></ShipNotice>`,
    `<!ELEMENT ShipNotice ANY>${notice}`,
    `<!ATTLIST ShipNotice a CDATA "b">${notice}`,
    `<! DOCTYPE ShipNotice>${notice}`,
    `<![CDATA[x]]><!DOCTYPE ShipNotice>${notice}`,
  ];
  const notXml = [
    'order_number=1&carrier=UPS',
    '{"OrderNumber": "1"}',
    '<html><body>hi</body></html>',
    '<Orders><Order/></Orders>',
    '<shipnotice></shipnotice>',
    `${notice}${notice}`,
    '<ShipNotice',
    '<ShipNotice><OrderNumber>1</ShipNotice>',
    '<ShipNotice><OrderNumber>1</OrderNumber></ShipNotice><',
    '<ShipNotice a=></ShipNotice>',
    '</ShipNotice>',
    '<?xml version="1.0"?>',
    '<!-- only a comment -->',
    '<ShipNotice><Items><Item><Quantity>0</Quantity></Item></Items></ShipNotice>',
    'x',
  ];
  const badQuantity = pick(['0', '-1', '1.5', 'abc', '', ' ', '1e3', '99999999999999999999', '9007199254740993', '１', '٣', '0x10']).map((q) =>
    Buffer.from(`<ShipNotice><OrderNumber>${own.orderNumber}</OrderNumber><Items><Item><SKU>MUG-1</SKU><Quantity>${q}</Quantity></Item></Items></ShipNotice>`),
  );
  return fc.oneof(
    pick(declarations).map((s) => refused('declaration')(Buffer.from(s))),
    pick(notXml).map((s) => refused('not-a-notice')(Buffer.from(s))),
    badQuantity.map(refused('bad-quantity')),
    // A well-formed notice cut inside its root element can never be well-formed.
    fc.tuple(wellFormed, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })).map(([doc, at]) => {
      const close = doc.lastIndexOf('</ShipNotice>');
      const cut = 1 + Math.floor(at * close);
      const body = doc.subarray(0, cut);
      return refused('truncated')(body.toString('utf8').trim() === '' ? Buffer.from('<') : body);
    }),
    // Deep nesting without a ShipNotice root, closed or not.
    fc.tuple(fc.integer({ min: 100, max: 36_000 }), fc.boolean()).map(([depth, closed]) =>
      refused(closed ? 'deep-nesting' : 'deep-nesting-unclosed')(Buffer.from('<a>'.repeat(depth) + (closed ? '</a>'.repeat(depth) : ''))),
    ),
    // Deep nesting inside a notice that names our order: deeper than the XML parser's limit (100 levels) is unreadable.
    fc.integer({ min: 150, max: 30_000 }).map((depth) =>
      refused('deep-nesting-in-notice')(Buffer.from(`<ShipNotice><OrderNumber>${own.orderNumber}</OrderNumber>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</ShipNotice>`)),
    ),
    // Bytes that are not UTF-8 inside a tag name: the end tag no longer matches.
    fc.tuple(invalidUtf8Arb).map(([bad]) => refused('bad-bytes-in-tag')(Buffer.concat([Buffer.from(`<ShipNotice><Order`), bad, Buffer.from(`Number>1</OrderNumber></ShipNotice>`)]))),
    // Random bytes (never blank: that would be the empty-body notice).
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => Buffer.from(bytes)).filter((b) => b.toString('utf8').replace(/^\uFEFF/, '').trim() !== '' && !b.toString('utf8').includes('<ShipNotice')).map(refused('random-bytes')),
    freeText(200).filter((s) => s.trim() !== '' && !s.includes('<')).map((s) => refused('random-text')(Buffer.from(s))),
  );
}

const CONTENT_TYPES = [
  undefined,
  'text/xml',
  'text/xml; charset=utf-8',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/json',
  'text/plain; charset=latin1',
  'garbage/;;;',
  '',
];

interface ShipnotifyDraw {
  parts: string[];
  body: Buffer | null;
  verdict: BodyVerdict;
  queryOrder: FuzzOrder | null;
  queryTracking: string | undefined;
  label: string;
}

/** The shipnotify query and body. Valid mode: some reference always names one of our orders; the body is readable. */
function shipnotifyInput(world: FuzzWorld, mode: FuzzMode, method: string): fc.Arbitrary<ShipnotifyDraw> {
  const bodyRead = method === 'POST';
  type Shape = 'notice' | 'blank' | 'unreadable';
  const shape: fc.Arbitrary<Shape> = mode === 'valid' ? pick<Shape>(['notice', 'notice', 'blank']) : pick<Shape>(['notice', 'blank', 'unreadable', 'unreadable']);
  return shape.chain((bodyShape) => {
    // Which slot names our order in valid mode (when the body is not read, only the query can).
    const resolvingSlot = bodyRead && bodyShape === 'notice' ? pick(['orderId', 'orderNumber', 'query'] as const) : fc.constant('query' as const);
    return fc
      .record({
        slot: resolvingSlot,
        encoding: encodingArb,
        carrier: fc.option(freeText(12), { nil: undefined }),
        service: fc.option(pick(['', 'Ground', 'usps_priority_mail', '🚚']), { nil: undefined }),
        queryTracking: fc.option(fc.oneof(trackingArb, pick(['', '  '])), { nil: undefined }),
        blank: pick(['', ' ', '\r\n\t ', '\uFEFF', '\uFEFF  \n']),
        nulInQuery: mode === 'hostile' ? fc.boolean() : fc.constant(false),
      })
      .chain((d) => {
        const want = (slot: 'orderId' | 'orderNumber' | 'query') => (mode === 'valid' ? (d.slot === slot ? true : null) : false);
        return fc
          .record({
            bodyOrderId: referenceArb(world, 'orderId', want('orderId')),
            bodyOrderNumber: referenceArb(world, 'orderNumber', want('orderNumber')),
            queryOrderNumber: d.nulInQuery ? queryOnlyReference(world) : referenceArb(world, 'orderNumber', want('query')),
          })
          .chain((refs) => {
            const body: fc.Arbitrary<NoticeDraw> =
              bodyShape === 'unreadable'
                ? unreadableBody(world)
                : bodyShape === 'blank'
                  ? fc.constant({ body: Buffer.from(d.blank), verdict: { kind: 'blank' } as BodyVerdict, label: 'body:blank' })
                  : fc.tuple(noticeDocument({ orderId: refs.bodyOrderId, orderNumber: refs.bodyOrderNumber }), fc.option(fc.integer({ min: 0, max: 64 }), { nil: undefined })).map(([doc, under]) => {
                      let bytes: Buffer = toBuffer(doc.chunks);
                      // Just under the cap: the notice is padded with an element nobody reads.
                      if (under !== undefined) bytes = padTo(bytes, world.maxNoticeBytes - under);
                      return {
                        body: bytes,
                        verdict: { kind: 'notice', orderId: refs.bodyOrderId.resolves, orderNumber: refs.bodyOrderNumber.resolves, tracking: doc.tracking } as BodyVerdict,
                        label: `body:notice${under !== undefined ? '-near-cap' : ''}`,
                      };
                    });
            return body.map((b): ShipnotifyDraw => {
              const q = refs.queryOrderNumber;
              const parts = [
                ...(q.value === null ? [] : [param('order_number', q.value, d.encoding)]),
                ...(d.carrier === undefined ? [] : [param('carrier', d.carrier, d.encoding)]),
                ...(d.service === undefined ? [] : [param('service', d.service, d.encoding)]),
                ...(d.queryTracking === undefined ? [] : [param('tracking_number', d.queryTracking, d.encoding)]),
              ];
              const refLabel = `refs:${refs.bodyOrderId.kind}/${refs.queryOrderNumber.kind}/${refs.bodyOrderNumber.kind}`;
              return { parts, body: b.body, verdict: b.verdict, queryOrder: q.resolves, queryTracking: d.queryTracking?.trim() || undefined, label: `${b.label},${refLabel}` };
            });
          });
      });
  });
}

// ---- assembly -----------------------------------------------------------------------------------------

/**
 * Query parameters the endpoint ignores, some oddly encoded (percent-encoded bytes that are not UTF-8
 * included). Raw bytes above 0x7F in the request line are not HTTP: Node's parser answers 400 before
 * the app sees them (test/shipstation-fuzz.test.ts has an example).
 */
const NOISE = ['utm_source=email', 'foo', '=bar', '', 'x=%zz', 'y=%', 'z=%E2%82', 'emoji=%F0%9F%98%80', 'latin=%E9%FF', 'q=a+b+c', 'empty=', 'semi=a;b', 'amp=%26%26', 'dup=1', 'dup=2', 'shop=my%20store?x=1'];
const noiseArb = fc.subarray(NOISE, { maxLength: 4 });

/** A body for a request whose body is beside the point, or one over the size cap. */
function sideBody(world: FuzzWorld, oversized: boolean): fc.Arbitrary<Buffer | null> {
  if (oversized) return fc.integer({ min: 1, max: 4096 }).map((extra) => Buffer.alloc(world.maxNoticeBytes + extra, 'x'));
  return fc.option(fc.oneof(pick(['', 'hello', '<ShipNotice/>']).map((s) => Buffer.from(s)), invalidUtf8Arb), { nil: null });
}

const DIMENSIONS = ['credentials', 'action', 'method', 'input', 'size'] as const;
type Dimension = (typeof DIMENSIONS)[number];

/**
 * Which dimensions a hostile request breaks: one, weighted towards the action's own input (where the
 * parsing is), sometimes a second. A broken size or credentials decides the answer before anything
 * else is looked at, so those are drawn less often.
 */
const brokenDimensions: fc.Arbitrary<Dimension[]> = fc
  .tuple(
    fc.oneof(
      { arbitrary: fc.constant<Dimension>('input'), weight: 6 },
      { arbitrary: fc.constant<Dimension>('credentials'), weight: 2 },
      { arbitrary: fc.constant<Dimension>('action'), weight: 1 },
      { arbitrary: fc.constant<Dimension>('method'), weight: 1 },
      { arbitrary: fc.constant<Dimension>('size'), weight: 1 },
    ),
    pick(DIMENSIONS),
    fc.integer({ min: 0, max: 3 }),
  )
  .map(([first, second, chance]) => (chance > 0 || second === first ? [first] : [first, second]));

/**
 * One request. Valid mode: every dimension drawn from accepted values. Hostile mode: at least one
 * dimension drawn from refused values (the others as they come).
 */
export function shipStationCase(world: FuzzWorld, mode: FuzzMode): fc.Arbitrary<FuzzCase> {
  const broken: fc.Arbitrary<Dimension[]> = mode === 'valid' ? fc.constant([]) : brokenDimensions;
  return fc
    .record({ broken, kind: pick(['export', 'shipnotify'] as const), noise: noiseArb, contentType: pick(CONTENT_TYPES), chunked: fc.boolean(), disabled: fc.integer({ min: 0, max: 4 }) })
    .chain(({ broken, kind, noise, contentType, chunked, disabled }) => {
      const isBroken = (d: Dimension) => broken.includes(d);
      const credentials = isBroken('credentials')
        ? refusedCredentials(world)
        : mode === 'hostile' && disabled === 0
          ? rightCredentials(world.disabled, 'disabled')
          : rightCredentials(world.active, 'active');
      const action = isBroken('action') ? wrongAction : rightAction(kind);
      const validMethods = kind === 'export' ? ['GET', 'HEAD'] : ['POST', 'GET'];
      const method = isBroken('size')
        ? pick(BODY_METHODS)
        : isBroken('method')
          ? pick(METHODS.filter((m) => !validMethods.includes(m)))
          : pick(validMethods);
      return fc.record({ credentials, action, method }).chain(({ credentials, action, method }) => {
        const input =
          kind === 'export'
            ? fc.tuple(exportInput(isBroken('input') ? 'hostile' : 'valid'), sideBody(world, isBroken('size'))).map(([e, body]) => ({
                parts: e.parts,
                body: method === 'HEAD' ? null : body,
                label: e.label,
                verdicts: { exportInput: e.ok, body: { kind: 'blank' } as BodyVerdict, queryOrder: null, queryTracking: undefined },
              }))
            : shipnotifyInput(world, isBroken('input') ? 'hostile' : 'valid', method).chain((s) =>
                (isBroken('size') ? sideBody(world, true) : fc.constant(s.body)).map((body) => ({
                  parts: s.parts,
                  body: method === 'HEAD' ? null : body,
                  label: s.label,
                  verdicts: { exportInput: false, body: s.verdict, queryOrder: s.queryOrder, queryTracking: s.queryTracking },
                })),
              );
        return fc.tuple(input, fc.shuffledSubarray([...credentials.parts, ...action.parts, ...noise], { minLength: credentials.parts.length + action.parts.length + noise.length })).chain(
          ([input, shuffled]) =>
            fc.shuffledSubarray([...shuffled, ...input.parts], { minLength: shuffled.length + input.parts.length }).map((parts): FuzzCase => {
              const verdicts: Verdicts = { method, bodyBytes: input.body?.length ?? null, authn: credentials.authn, action: action.kind, ...input.verdicts };
              const expected = expectedStatus(verdicts, world.maxNoticeBytes);
              const headers: Record<string, string> = { ...credentials.headers };
              if (contentType !== undefined && input.body !== null) headers['Content-Type'] = contentType;
              const accepted = expected === 200 && action.kind === 'shipnotify';
              const order = accepted ? noticeOrder(method === 'POST' ? input.verdicts.body : { kind: 'blank' }, input.verdicts.queryOrder) : null;
              const tracking = input.verdicts.queryTracking ?? (method === 'POST' && input.verdicts.body.kind === 'notice' ? input.verdicts.body.tracking : undefined);
              return {
                label: [`${action.kind}:${method}`, credentials.label, action.label, input.label, broken.length ? `broken:${broken.join('+')}` : 'valid'].join(' '),
                request: { method, target: `/shipstation?${parts.join('&')}`, headers, body: input.body, chunked: input.body !== null && chunked },
                expected,
                loggedAs: expected === 413 || credentials.authn === 'refused' ? null : credentials.authn,
                ...(order && tracking ? { shipment: { orderId: order.orderId, trackingNumber: tracking } } : {}),
              };
            }),
        );
      });
    })
    .filter((c) => (mode === 'valid' ? c.expected === 200 : c.expected !== 200));
}
