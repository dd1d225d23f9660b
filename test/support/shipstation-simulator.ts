/**
 * A ShipStation simulator: it talks to a Custom Store URL the way ShipStation does (design doc
 * shared/design/shipstation-custom-store.md), against the real app.
 *
 * - `poll(now)` chooses a window (first poll: a lookback; later: the previous window's end minus an
 *   overlap, to `now`), sends the dates as ShipStation does (`MM/dd/yyyy HH:mm` UTC, `%2f`, `%3a`,
 *   `+` for the space), walks pages 1..pages with identical bounds, parses every page as XML and
 *   imports the orders into a store of its own, keyed by OrderID. The status of an imported order is
 *   ShipStation's, derived from `<OrderStatus>` through the five status fields a merchant fills in;
 *   an `<OrderStatus>` outside them leaves the order invisible (never imported).
 * - `ship(order, options)` posts a shipnotify notice: a realistic `<ShipNotice>` body plus the query
 *   ShipStation sends, with Basic and/or `SS-UserName`/`SS-Password` credentials; `resend` repeats a
 *   notice byte for byte, `shipSplit` spreads one order over several notices, `emptyBody` sends the
 *   query alone.
 * - Every call, and the HTTP status it got, is kept in `calls`.
 */
import { XMLParser } from 'fast-xml-parser';

/** Anything that answers a fetch: `app.request` of the Hono app, or the global fetch. */
export type Fetcher = (url: string, init: RequestInit) => Response | Promise<Response>;

export type ShipStationStatus = 'Awaiting Payment' | 'Awaiting Shipment' | 'Shipped' | 'Cancelled' | 'On Hold';

/** The five status fields of ShipStation's Custom Store form, as a merchant fills them in (design doc, section 3). */
export interface StatusFields {
  unpaid: string;
  paid: string;
  shipped: string;
  cancelled: string;
  on_hold: string;
}

export const DOCUMENTED_STATUS_FIELDS: StatusFields = {
  unpaid: 'await_payment',
  paid: 'new,at_wms',
  shipped: 'shipped,confirmed',
  cancelled: 'canceled',
  on_hold: 'on_hold',
};

const CATEGORY_STATUS: Record<keyof StatusFields, ShipStationStatus> = {
  unpaid: 'Awaiting Payment',
  paid: 'Awaiting Shipment',
  shipped: 'Shipped',
  cancelled: 'Cancelled',
  on_hold: 'On Hold',
};

export type CredentialMode = 'basic' | 'query' | 'both' | 'none';

export interface SimulatorConfig {
  fetch: Fetcher;
  /** The "URL to custom XML page" as the merchant pasted it (may carry a query of its own). */
  url: string;
  username: string;
  password: string;
  statusFields?: StatusFields;
  /** How far back the first poll looks. Default 30 days. */
  lookbackMs?: number;
  /** How far before the previous window's end a later poll starts. Default 5 minutes. */
  overlapMs?: number;
  /** How exports authenticate. Default Basic. */
  credentials?: CredentialMode;
}

/** One `<Order>` as parsed (values kept as strings). */
export type ParsedOrder = Record<string, any> & { OrderID: string; OrderNumber: string; OrderStatus: string; LastModified: string };

export interface ImportedOrder {
  orderId: string;
  orderNumber: string;
  /** `<OrderStatus>` as received. */
  orderStatus: string;
  /** ShipStation's own status for it. */
  status: ShipStationStatus;
  lastModified: string;
  /** The last `<Order>` imported for it. */
  order: ParsedOrder;
  /** How often a changed version was imported (1 = once). */
  imports: number;
  /** ShipStation statuses in the order they were taken. */
  history: ShipStationStatus[];
}

export interface CallRecord {
  action: string;
  method: string;
  /** The URL with SS-Password masked. */
  url: string;
  status: number;
}

export interface ExportPage {
  page: number;
  status: number;
  contentType: string | null;
  text: string;
  /** `pages` attribute; null when the answer is not an `<Orders>` document. */
  pages: number | null;
  orders: ParsedOrder[];
  /** Why ShipStation would reject the answer (status, not XML, not `<Orders>`). */
  error: string | null;
}

export interface PollResult {
  window: { start: Date; end: Date; startText: string; endText: string };
  pages: ExportPage[];
  /** Every order of every page, in page order. */
  orders: ParsedOrder[];
  /** Orders whose LastModified moved (or that were new) and were imported by this poll. */
  imported: string[];
  /** Orders whose `<OrderStatus>` is in none of the five fields: invisible in ShipStation. */
  invisible: ParsedOrder[];
  ok: boolean;
  error: string | null;
}

export interface NoticeItem {
  lineItemId?: string;
  sku?: string;
  name?: string;
  quantity: number;
  upc?: string;
}

export interface ShipOptions {
  /** Items of this package. Default: every non-adjustment item of the imported order (one package). */
  items?: NoticeItem[];
  /** Leave the Items element out ("everything still unshipped"). */
  noItems?: boolean;
  carrier?: string;
  service?: string;
  /** Tracking number; '' sends none ("mark as shipped"). */
  tracking?: string;
  credentials?: CredentialMode;
  /** Send no body at all: the query alone is the notice. */
  emptyBody?: boolean;
  /** Content-Type of the body; default what ShipStation sends, `application/xml`. */
  contentType?: string | null;
  /** HTTP method; default POST. */
  method?: 'POST' | 'GET';
  /** Body values that differ from the query's (carrier, service, tracking). */
  bodyCarrier?: string;
  bodyService?: string;
  bodyTracking?: string;
  /** Body OrderID / OrderNumber; null leaves the element out. Default the imported order's. */
  bodyOrderId?: string | null;
  bodyOrderNumber?: string | null;
  /** The query's order_number; null leaves it out. Default the order number. */
  queryOrderNumber?: string | null;
  shipDate?: Date;
  labelCreateDate?: Date;
  shippingCost?: string;
  notifyCustomer?: boolean;
  notesToCustomer?: string;
  internalNotes?: string;
  customerNotes?: string;
  customFields?: string[];
  recipient?: Partial<Record<'Name' | 'Company' | 'Address1' | 'Address2' | 'City' | 'State' | 'PostalCode' | 'Country', string>>;
  /** Extra query parameters (some installs carry their own). */
  extraQuery?: Record<string, string>;
  /** Replace the body entirely (for malformed or hostile bodies). */
  rawBody?: string;
}

/** An HTTP request exactly as sent, so it can be sent again. */
export interface SentRequest {
  url: string;
  init: RequestInit;
}

export interface PreparedNotice {
  request: SentRequest;
  body: string;
  /** The tracking number it carries ('' for none). */
  tracking: string;
}

export interface NoticeResult {
  status: number;
  text: string;
  headers: Headers;
  /** The exact request, so it can be sent again. */
  request: SentRequest;
  body: string;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `MM/dd/yyyy HH:mm` in UTC, as ShipStation writes dates. */
export function shipStationDate(date: Date): string {
  return `${pad2(date.getUTCMonth() + 1)}/${pad2(date.getUTCDate())}/${date.getUTCFullYear()} ${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}`;
}

/** `MM/dd/yyyy` (ShipDate). */
export function shipStationDay(date: Date): string {
  return shipStationDate(date).slice(0, 10);
}

/** ShipStation's URL encoding of a date: `01%2f23%2f2012+17%3a28`. */
export function encodeShipStationDate(text: string): string {
  return text.replace(/\//g, '%2f').replace(/:/g, '%3a').replace(/ /g, '+');
}

/** Text in CDATA, a `]]>` inside split across two sections. */
export function cdata(value: string): string {
  return `<![CDATA[${value.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

const exportParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  ignoreDeclaration: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (_name, jpath) => ['Orders.Order', 'Orders.Order.Items.Item', 'Orders.Order.Items.Item.Options.Option'].includes(String(jpath)),
});

/** Reads an export answer as ShipStation does; throws with the reason when it is not an `<Orders>` document. */
export function parseExportDocument(text: string): { pages: number; orders: ParsedOrder[] } {
  if (!text.trim()) throw new Error('the answer is empty');
  const doc = exportParser.parse(text) as Record<string, any>;
  const root = doc.Orders;
  if (root === undefined) throw new Error(`the root element is not <Orders> (got ${Object.keys(doc).join(', ') || 'nothing'})`);
  const rootElement = typeof root === 'object' && root !== null ? root : {};
  const pages = Number(rootElement['@pages']);
  if (!Number.isInteger(pages) || pages < 1) throw new Error(`<Orders pages="${rootElement['@pages']}"> is not a page count`);
  const orders = (rootElement.Order ?? []) as ParsedOrder[];
  return { pages, orders };
}

/** The Items of a parsed order, always as a list. */
export const itemsOf = (order: ParsedOrder): Record<string, any>[] => {
  const items = order.Items;
  if (!items || typeof items !== 'object') return [];
  return (items.Item ?? []) as Record<string, any>[];
};

export class ShipStationSimulator {
  readonly store = new Map<string, ImportedOrder>();
  readonly calls: CallRecord[] = [];
  /** The previous successful window, for the next poll's start. */
  lastWindow: { start: Date; end: Date } | null = null;
  private readonly statusOf: Map<string, ShipStationStatus>;

  constructor(readonly config: SimulatorConfig) {
    const fields = config.statusFields ?? DOCUMENTED_STATUS_FIELDS;
    this.statusOf = new Map();
    for (const [category, list] of Object.entries(fields) as [keyof StatusFields, string][]) {
      // Comma-separated, case-sensitive; ShipStation trims around the commas.
      for (const value of list.split(',').map((v) => v.trim()).filter(Boolean)) this.statusOf.set(value, CATEGORY_STATUS[category]);
    }
  }

  /** Every HTTP status received, in order. */
  get statuses(): number[] {
    return this.calls.map((c) => c.status);
  }

  /** ShipStation's status for an `<OrderStatus>` value, or null when it is in none of the five fields. */
  shipStationStatus(orderStatus: string): ShipStationStatus | null {
    return this.statusOf.get(orderStatus) ?? null;
  }

  /** The imported order with this OrderID or OrderNumber. */
  find(orderIdOrNumber: string): ImportedOrder | undefined {
    return this.store.get(orderIdOrNumber) ?? [...this.store.values()].find((o) => o.orderNumber === orderIdOrNumber);
  }

  /** The window ShipStation would ask for now. */
  chooseWindow(now: Date): { start: Date; end: Date } {
    const lookback = this.config.lookbackMs ?? 30 * 86_400_000;
    const overlap = this.config.overlapMs ?? 5 * 60_000;
    const start = this.lastWindow ? new Date(this.lastWindow.end.getTime() - overlap) : new Date(now.getTime() - lookback);
    return { start, end: now };
  }

  /**
   * One poll: a window, pages 1..pages, every page imported. `afterPage` runs between pages (to
   * change orders while ShipStation walks). A failed page ends the poll and leaves the next window's
   * start where it was, as ShipStation retries the same range.
   */
  async poll(now: Date = new Date(), options: { afterPage?: (page: ExportPage) => unknown | Promise<unknown>; maxPages?: number } = {}): Promise<PollResult> {
    const { start, end } = this.chooseWindow(now);
    const startText = shipStationDate(start);
    const endText = shipStationDate(end);
    const result: PollResult = { window: { start, end, startText, endText }, pages: [], orders: [], imported: [], invisible: [], ok: true, error: null };
    let pages = 1;
    for (let page = 1; page <= pages && page <= (options.maxPages ?? 1000); page++) {
      const answer = await this.exportPage(startText, endText, page);
      result.pages.push(answer);
      if (answer.error) {
        result.ok = false;
        result.error = `page ${page}: ${answer.error}`;
        return result;
      }
      if (page === 1) pages = answer.pages!;
      for (const order of answer.orders) {
        result.orders.push(order);
        const status = this.shipStationStatus(order.OrderStatus);
        if (!status) {
          result.invisible.push(order);
          continue;
        }
        if (this.importOrder(order, status)) result.imported.push(order.OrderID);
      }
      if (options.afterPage && page < pages) await options.afterPage(answer);
    }
    this.lastWindow = { start, end };
    return result;
  }

  /** ShipStation imports an order it has not seen, or one whose LastModified moved. */
  private importOrder(order: ParsedOrder, status: ShipStationStatus): boolean {
    const known = this.store.get(order.OrderID);
    if (known && known.lastModified === order.LastModified) return false;
    this.store.set(order.OrderID, {
      orderId: order.OrderID,
      orderNumber: order.OrderNumber,
      orderStatus: order.OrderStatus,
      status,
      lastModified: order.LastModified,
      order,
      imports: (known?.imports ?? 0) + 1,
      history: known && known.status === status ? known.history : [...(known?.history ?? []), status],
    });
    return true;
  }

  /** One export page for the given (already formatted) dates; `query` overrides the raw date text. */
  async exportPage(
    startText: string | null,
    endText: string | null,
    page: number | string | null,
    options: { credentials?: CredentialMode; rawQuery?: string; method?: string } = {},
  ): Promise<ExportPage> {
    const query =
      options.rawQuery ??
      [
        'action=export',
        ...(startText !== null ? [`start_date=${encodeShipStationDate(startText)}`] : []),
        ...(endText !== null ? [`end_date=${encodeShipStationDate(endText)}`] : []),
        ...(page !== null ? [`page=${page}`] : []),
      ].join('&');
    const response = await this.send('export', options.method ?? 'GET', query, options.credentials ?? this.config.credentials ?? 'basic', {});
    const text = await response.text();
    const answer: ExportPage = { page: Number(page ?? 1), status: response.status, contentType: response.headers.get('Content-Type'), text, pages: null, orders: [], error: null };
    if (response.status !== 200) {
      answer.error = `HTTP ${response.status}: ${text.trim()}`;
      return answer;
    }
    try {
      const parsed = parseExportDocument(text);
      answer.pages = parsed.pages;
      answer.orders = parsed.orders;
    } catch (error) {
      answer.error = `not a valid export document: ${(error as Error).message}`;
    }
    return answer;
  }

  /**
   * Posts one shipnotify notice for an order: by OrderID or OrderNumber of an imported order, or a
   * bare order number ShipStation never imported (then `items` come from the options only).
   */
  async ship(orderIdOrNumber: string, options: ShipOptions = {}): Promise<NoticeResult> {
    return this.deliver(this.prepareNotice(orderIdOrNumber, options));
  }

  /**
   * The exact request `ship` would send, without sending it: a caller that must deliver one notice
   * through failures (the soak) sends this same request until it is answered.
   */
  prepareNotice(orderIdOrNumber: string, options: ShipOptions = {}): PreparedNotice {
    const imported = this.find(orderIdOrNumber);
    const orderNumber = imported?.orderNumber ?? orderIdOrNumber;
    const carrier = options.carrier ?? 'USPS';
    const service = options.service ?? 'USPS Priority Mail';
    const tracking = options.tracking ?? `9400${Math.floor(Math.random() * 1e15).toString().padStart(15, '0')}`;
    const params: [string, string][] = [['action', 'shipnotify']];
    if (options.queryOrderNumber !== null) params.push(['order_number', options.queryOrderNumber ?? orderNumber]);
    params.push(['carrier', carrier], ['service', service], ['tracking_number', tracking]);
    for (const [k, v] of Object.entries(options.extraQuery ?? {})) params.push([k, v]);
    const query = params.map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%20/g, '+')}`).join('&');

    const body = options.emptyBody ? '' : options.rawBody ?? this.noticeBody(imported, orderNumber, { ...options, carrier, service, tracking });
    const headers: Record<string, string> = {};
    const contentType = options.contentType === undefined ? 'application/xml' : options.contentType;
    if (contentType !== null && !options.emptyBody) headers['Content-Type'] = contentType;
    const method = options.method ?? 'POST';
    const request = this.prepare(method, query, options.credentials ?? this.config.credentials ?? 'basic', {
      headers,
      ...(method === 'POST' ? { body } : {}),
    });
    return { request, body, tracking };
  }

  /** Sends a prepared notice (again, byte for byte, when it was sent before). */
  async deliver(notice: Pick<PreparedNotice, 'request' | 'body'>): Promise<NoticeResult> {
    const response = await this.dispatch('shipnotify', notice.request);
    const text = await response.text();
    return { status: response.status, text, headers: response.headers, request: notice.request, body: notice.body };
  }

  /** ShipStation delivering the same notice again. */
  resend(notice: NoticeResult): Promise<NoticeResult> {
    return this.deliver(notice);
  }

  /** A split order: one notice per package, each with only its own items and its own tracking number. */
  async shipSplit(orderIdOrNumber: string, packages: NoticeItem[][], options: Omit<ShipOptions, 'items' | 'tracking'> = {}): Promise<NoticeResult[]> {
    const results: NoticeResult[] = [];
    for (const [i, items] of packages.entries()) {
      results.push(await this.ship(orderIdOrNumber, { ...options, items, tracking: `1Z999AA1${String(Date.now()).slice(-8)}${i}` }));
    }
    return results;
  }

  /** One HTTP call to the store URL with ShipStation's query appended (`?` or `&`). */
  send(action: string, method: string, query: string, credentials: CredentialMode, init: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> }): Promise<Response> {
    return this.dispatch(action, this.prepare(method, query, credentials, init));
  }

  private prepare(method: string, query: string, credentials: CredentialMode, init: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> }): SentRequest {
    const { username, password } = this.config;
    const auth = credentials === 'query' || credentials === 'both' ? `&SS-UserName=${encodeURIComponent(username)}&SS-Password=${encodeURIComponent(password)}` : '';
    const url = `${this.config.url}${this.config.url.includes('?') ? '&' : '?'}${query}${auth}`;
    const headers: Record<string, string> = { 'User-Agent': 'ShipStation', ...init.headers };
    if (credentials === 'basic' || credentials === 'both') headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    return { url, init: { ...init, method, headers } };
  }

  private async dispatch(action: string, request: SentRequest): Promise<Response> {
    const response = await this.config.fetch(request.url, { ...request.init, headers: { ...(request.init.headers as Record<string, string>) } });
    this.calls.push({ action, method: request.init.method ?? 'GET', url: mask(request.url), status: response.status });
    return response;
  }

  /** A `<ShipNotice>` as ShipStation writes it, from the imported order where there is one. */
  noticeBody(imported: ImportedOrder | undefined, orderNumber: string, options: ShipOptions & { carrier: string; service: string; tracking: string }): string {
    const order = imported?.order;
    const shipTo = (order?.Customer?.ShipTo ?? {}) as Record<string, string>;
    const items: NoticeItem[] =
      options.items ??
      itemsOf(order ?? ({} as ParsedOrder))
        .filter((i) => i.Adjustment !== 'true')
        .map((i) => ({ lineItemId: i.LineItemID, sku: i.SKU, name: i.Name, quantity: Number(i.Quantity) }));
    const now = new Date();
    const el = (name: string, value: string | undefined | null) => (value === undefined || value === null ? '' : `  <${name}>${cdata(value)}</${name}>\n`);
    const plain = (name: string, value: string | undefined | null) => (value === undefined || value === null ? '' : `  <${name}>${value}</${name}>\n`);
    const recipient = {
      Name: shipTo.Name,
      Company: shipTo.Company,
      Address1: shipTo.Address1,
      Address2: shipTo.Address2,
      City: shipTo.City,
      State: shipTo.State,
      PostalCode: shipTo.PostalCode,
      Country: shipTo.Country,
      ...options.recipient,
    };
    const customFields = options.customFields ?? [];
    return (
      '<?xml version="1.0" encoding="utf-8"?>\n<ShipNotice>\n' +
      el('OrderNumber', options.bodyOrderNumber === undefined ? orderNumber : options.bodyOrderNumber) +
      el('OrderID', options.bodyOrderId === undefined ? imported?.orderId : options.bodyOrderId) +
      el('CustomerCode', order?.Customer?.CustomerCode ?? 'customer@example.com') +
      el('CustomerNotes', options.customerNotes ?? '') +
      el('InternalNotes', options.internalNotes ?? '') +
      el('NotesToCustomer', options.notesToCustomer ?? '') +
      plain('NotifyCustomer', String(options.notifyCustomer ?? true)) +
      plain('LabelCreateDate', shipStationDate(options.labelCreateDate ?? now)) +
      plain('ShipDate', shipStationDay(options.shipDate ?? now)) +
      el('Carrier', options.bodyCarrier ?? options.carrier) +
      el('Service', options.bodyService ?? options.service) +
      el('TrackingNumber', options.bodyTracking ?? options.tracking) +
      plain('ShippingCost', options.shippingCost ?? '7.45') +
      [1, 2, 3].map((n) => el(`CustomField${n}`, customFields[n - 1] ?? '')).join('') +
      '  <Recipient>\n' +
      Object.entries(recipient)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `  ${el(k, v)}`)
        .join('') +
      '  </Recipient>\n' +
      (options.noItems
        ? ''
        : '  <Items>\n' +
          items
            .map(
              (i) =>
                '    <Item>\n' +
                (i.sku !== undefined ? `      <SKU>${cdata(i.sku)}</SKU>\n` : '') +
                (i.name !== undefined ? `      <Name>${cdata(i.name)}</Name>\n` : '') +
                (i.upc !== undefined ? `      <UPC>${i.upc}</UPC>\n` : '') +
                `      <Quantity>${i.quantity}</Quantity>\n` +
                (i.lineItemId !== undefined ? `      <LineItemID>${cdata(i.lineItemId)}</LineItemID>\n` : '') +
                '    </Item>\n',
            )
            .join('') +
          '  </Items>\n') +
      '</ShipNotice>\n'
    );
  }
}

function mask(url: string): string {
  return url.replace(/(SS-Password=)[^&]*/i, '$1***');
}
