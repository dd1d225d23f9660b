/**
 * The ShipStation Custom Store endpoint: one URL, `action=export` (GET) and `action=shipnotify`
 * (POST; GET tolerated). Plain-text errors with the status codes ShipStation shows to the merchant,
 * and every call of a known connection in its request log.
 */
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { findConnectionForLogin, upgradePasswordDigest } from '../../db/connections';
import { exportSnapshotPage, loadExportPage } from '../../db/export-pages';
import { logConnectionRequest, noticeLogCtes, type RequestLogEntry } from '../../db/request-log';
import { recordFacts, recordNotice, type NewFact, type NoticeTarget } from '../../db/order-facts';
import { contentFromRows, storable, toIso } from '../../db/orders';
import type { ConnectionRow } from '../../db/schema';
import { matchStoredDigest } from '../../db/secret-digest';
import { orderWorkflowId, type OrderStatus } from '../../domain/order';
import { exportWindow } from '../../domain/shipstation/dates';
import { buildExportDocument, importProblem, type ExportOrder } from '../../domain/shipstation/export-xml';
import { orderReferences, readNotice, shipmentKeyFor, toShipmentReport, type NoticeQuery, type ShipNotice } from '../../domain/shipstation/shipnotify';
import { addLogContext } from '../../runtime/log-context';
import { isDatabaseUnavailable } from '../errors';
import { newRouter } from '../routes/common';
import type { RouteServices } from '../services';
import { DRY_RUN_HEADER, maskedQuery, queryParam, readCredentials } from './credentials';

/** What one call answers, and what its log line says. */
interface Outcome {
  status: 200 | 400 | 401 | 403 | 404 | 405 | 413 | 429 | 500 | 503;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** The request-log entry was written with the call's own statement (an accepted notice). */
  logged?: true;
  log: Omit<RequestLogEntry, 'status' | 'durationMs' | 'action'> & { action?: string };
}

const text = (status: Outcome['status'], body: string, log: Outcome['log'] = {}, headers?: Record<string, string>): Outcome => ({
  status,
  body,
  headers,
  log: { ...log, ...(status >= 400 ? { error: body } : {}) },
});

/** Before a ShipStation call is answered 503 for the database, it is tried once more after this. */
const DATABASE_RETRY_MS = 250;

/** ShipStation's clock may run ahead of ours; a window end further out than this is not trusted. */
const MAX_CLOCK_SKEW_MS = 15 * 60_000;

/** The query parameters a notice is read with (names matched case-insensitively), on arrival and on replay. */
export function noticeQuery(params: URLSearchParams): NoticeQuery {
  return {
    order_number: queryParam(params, 'order_number'),
    carrier: queryParam(params, 'carrier'),
    service: queryParam(params, 'service'),
    tracking_number: queryParam(params, 'tracking_number'),
  };
}

export function shipstationRoutes(services: RouteServices) {
  const { db, relay, shipstation: settings, logger, metrics, secretDigest, throttle } = services;
  const app = newRouter();
  /** What an unknown username's password is checked against, so that costs what a wrong password does. */
  const noSuchConnection = secretDigest.digest('no such connection');

  app.use(
    '*',
    bodyLimit({
      maxSize: settings.maxNoticeBytes,
      onError: (c) => c.text(`the body is larger than ${settings.maxNoticeBytes} bytes`, 413),
    }),
  );

  // While ShipStation waits, the relay's sweeps hold back (briefly): its answers come first.
  app.all('/', (c) =>
    relay.whileShipStationWaits(async () => {
      // Only the database makes a call answer 503. A pooled connection that broke when PostgreSQL
      // restarted fails its next statement although the database is back; ShipStation never resends
      // a refused notice, so one more try, shortly after, comes before telling it 503. Safe to repeat:
      // a notice stored twice is a repeat its order recognises, an export page is read again.
      const first = await handle(c);
      if (first.status !== 503) return first;
      await new Promise((resolve) => setTimeout(resolve, DATABASE_RETRY_MS));
      c.header('Retry-After', undefined);
      return handle(c);
    }),
  );

  /** One answer; a database that cannot be reached is a plain-text 503 whatever step met it. */
  async function handle(c: Context) {
    const started = performance.now();
    const params = new URL(c.req.url).searchParams;
    const action = queryParam(params, 'action')?.trim().toLowerCase() ?? '';
    try {
      return await answer(c, params, action, started);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      return respond(c, failure(error), null, action, started);
    }
  }

  async function answer(c: Context, params: URLSearchParams, action: string, started: number) {
    const read = readCredentials(c.req.header('Authorization'), params);
    if (!read.ok) return respond(c, text(401, read.reason), null, action, started);
    const { username, password } = read.credentials;
    const pair = throttle.pairFor(c, username);
    const forms = secretDigest.storedForms(password);
    // A correct password clears the pair's failure counter within this same lookup.
    const connection = await findConnectionForLogin(db, username, { clearFailures: { pair, passwordDigests: forms } });
    // The same digests and one constant-time comparison either way: an unknown user costs what a wrong password does.
    const matched = matchStoredDigest(forms, connection?.passwordHash ?? noSuchConnection);
    if (!matched || !connection) {
      // Counted, and past the limit answered 429; a correct password is never refused (api/credential-throttle.ts).
      const verdict = await throttle.failed(pair, 'shipstation');
      if (verdict.throttled) {
        const reason = `too many failed attempts for this username from this address; try again in ${verdict.retryAfterSeconds} s`;
        return respond(c, text(429, reason, {}, { 'Retry-After': String(verdict.retryAfterSeconds) }), null, action, started);
      }
      return respond(c, text(401, 'unknown username or wrong password'), null, action, started);
    }
    if (matched === 'legacy') await upgradePasswordDigest(db, connection.id, connection.passwordHash, forms[0]);
    addLogContext({ merchant: connection.merchantId, connection: connection.username });
    if (connection.disabledAt) {
      return respond(c, text(403, `this connection is disabled: ${connection.disabledReason ?? 'no reason given'}`), connection, action, started);
    }

    let outcome: Outcome;
    try {
      if (action === 'export') {
        const dryRun = c.req.header(DRY_RUN_HEADER)?.toLowerCase() === 'true';
        outcome = c.req.method === 'GET' || c.req.method === 'HEAD' ? await serveExport(connection, params, dryRun) : text(405, 'export is a GET request', {}, { Allow: 'GET' });
      } else if (action === 'shipnotify') {
        outcome = c.req.method === 'POST' || c.req.method === 'GET' ? await receiveNotice(connection, params, c, started) : text(405, 'shipnotify is a POST request', {}, { Allow: 'POST, GET' });
      } else {
        outcome = text(400, action ? `unknown action "${action}"; expected export or shipnotify` : 'the action parameter is required (export or shipnotify)');
      }
    } catch (error) {
      outcome = failure(error);
    }
    // A dry run is ops testing the connection, not ShipStation calling: log it apart.
    const logged = action === 'export' && c.req.header(DRY_RUN_HEADER)?.toLowerCase() === 'true' ? 'export-dry-run' : action;
    return respond(c, outcome, connection, logged, started);
  }

  async function respond(c: Context, outcome: Outcome, connection: ConnectionRow | null, action: string, started: number) {
    const durationMs = performance.now() - started;
    if (connection && !outcome.logged) {
      // The entry quotes the request (action, order number, the reason's echo of a bad value): made
      // storable, so a NUL sent by the caller cannot make the database refuse the whole entry.
      const entry = storable({ action: action || '(none)', ...outcome.log, status: outcome.status, durationMs });
      await logConnectionRequest(db, connection.id, entry).catch(
        (error: unknown) => logger.warn({ err: error, connection: connection.username }, 'could not write the connection request log'),
      );
    }
    logger.info({ action, status: outcome.status, ms: Math.round(durationMs), ...(outcome.log.error ? { error: outcome.log.error } : {}) }, 'shipstation');
    if (action === 'shipnotify') metrics.shipnotifyAnswered(outcome.status);
    if (action === 'export' && outcome.status === 200) {
      const detail = outcome.log.detail as { orders: number; leftOut?: string[] };
      metrics.exportServed(detail.orders, detail.leftOut?.length ?? 0);
    }
    for (const [name, value] of Object.entries(outcome.headers ?? {})) c.header(name, value);
    if (outcome.status === 401) c.header('WWW-Authenticate', 'Basic realm="ShipStation"');
    c.header('Content-Type', outcome.contentType ?? 'text/plain; charset=utf-8');
    return c.body(outcome.body, outcome.status);
  }

  function failure(error: unknown): Outcome {
    // Only the database can make a ShipStation call fail: nothing here waits on Temporal.
    if (isDatabaseUnavailable(error)) {
      return text(503, 'the order database is unavailable; nothing was recorded, try again shortly', {}, { 'Retry-After': '30' });
    }
    logger.error({ err: error }, 'shipstation request failed');
    return text(500, 'internal error; it has been logged');
  }

  /** One page of the connection's orders whose LastModified lies in the window. */
  async function serveExport(connection: ConnectionRow, params: URLSearchParams, dryRun: boolean): Promise<Outcome> {
    const parsed = exportWindow(queryParam(params, 'start_date'), queryParam(params, 'end_date'));
    if (!parsed.ok) return text(400, parsed.reason);
    const { window } = parsed;
    const windowLog = { windowStart: window.start.toISOString(), windowEnd: window.end.toISOString() };
    const pageText = queryParam(params, 'page')?.trim() || '1';
    if (!/^\d{1,6}$/.test(pageText) || Number(pageText) < 1) return text(400, `page "${pageText}" is not a page number (1, 2, ...)`, windowLog);
    const page = Number(pageText);

    const snapshot = await exportSnapshotPage(
      db,
      connection,
      window,
      { offset: (page - 1) * settings.pageSize, limit: settings.pageSize },
      { ttlMs: settings.snapshotTtlMs, maxClockSkewMs: MAX_CLOCK_SKEW_MS, dryRun },
    );
    const pages = Math.max(1, Math.ceil(snapshot.total / settings.pageSize));
    const records = await loadExportPage(db, snapshot.pageIds);

    const served: ExportOrder[] = [];
    const exportKey = `${connection.username}:${snapshot.id}:${page}`;
    /** What the page tells each order: served (ShipStation now has it) or left out. */
    const facts: NewFact[] = [];
    const refused: { reason: string; orderNumber: string }[] = [];
    for (const { order, lines } of records) {
      const exportOrder: ExportOrder = {
        ...contentFromRows(order, lines),
        orderId: order.orderId,
        status: order.status as OrderStatus,
        lastModified: toIso(order.lastModified),
      };
      const problem = importProblem(exportOrder);
      if (problem) {
        refused.push({ reason: problem, orderNumber: order.orderNumber });
        facts.push({ orderId: order.orderId, fact: { kind: 'exportRefused', exportKey, reason: problem }, via: 'export' });
        continue;
      }
      served.push(exportOrder);
      if (order.status === 'pending' || (order.status === 'on_hold' && order.heldFrom === 'pending')) {
        facts.push({ orderId: order.orderId, fact: { kind: 'exported', exportKey }, via: 'export' });
      }
    }
    // Durable before ShipStation gets the page: if this fails, ShipStation gets 503, not orders we forget.
    if (!dryRun && facts.length) {
      await recordFacts(db, facts);
      relay.kick();
    }
    const markedServed = facts.filter((f) => f.fact.kind === 'exported').length;
    return {
      status: 200,
      body: buildExportDocument(served, pages),
      contentType: 'text/xml; charset=utf-8',
      log: {
        ...windowLog,
        page,
        detail: {
          ...(dryRun ? { dryRun: true } : {}),
          pages,
          orders: served.length,
          markedServed,
          ...(refused.length ? { leftOut: refused.map((r) => `${r.orderNumber}: ${r.reason}`) } : {}),
          snapshot: snapshot.id,
          snapshotReused: snapshot.reused,
        },
      },
    };
  }

  /** One package: recorded once per shipment key, acknowledged only once the fact is durable. */
  async function receiveNotice(connection: ConnectionRow, params: URLSearchParams, c: Context, started: number): Promise<Outcome> {
    // The raw body whatever the Content-Type says: never let a form decoder near it.
    const body = (await c.req.text()).replace(/^\uFEFF/, '');
    const query = noticeQuery(params);
    const reading = readNotice(body, query);
    if (!reading.ok) return text(400, `the ShipNotice XML cannot be read: ${reading.reason}`, { orderNumber: query.order_number });
    const { notice, merged, warnings } = reading;
    const named = query.order_number ?? notice?.orderNumber ?? notice?.orderId;
    const unknown = () => text(404, named ? `order ${named} is not an order of this connection` : 'the notice names no order (order_number or OrderNumber)', { orderNumber: named });
    const target = noticeTarget(connection, notice, query);
    if (!target) return unknown();
    const digest = notice ? createHash('sha256').update(body).digest('hex') : null;
    // Made storable like everything else stored: a NUL in a tracking number must not fail the statement.
    const shipmentKey = storable(shipmentKeyFor(merged, digest, query));
    const { report, details } = toShipmentReport(merged, shipmentKey);
    const answered = { detail: { shipmentKey, tracking: report.trackingNumber ?? null, ...(warnings.length ? { warnings } : {}) } };
    // Finding the order, the raw copy (for replay), the fact and the log entry, in one statement: the
    // 200 means all are durable, and a notice costs one round trip besides the credential lookup.
    const order = await recordNotice(
      db,
      target,
      {
        connectionId: connection.id,
        shipmentKey,
        query: maskedQuery(params),
        contentType: c.req.header('Content-Type') ?? null,
        // The notice reader takes a NUL in text, which PostgreSQL cannot store: the copy is kept
        // without it (and replays as the same notice, less the NUL) rather than refused and lost.
        body: storable(body),
      },
      { fact: { kind: 'shipmentReported', report: storable({ ...report, details, reportedVia: 'shipnotify' }) }, via: 'shipnotify' },
      noticeLogCtes(connection.id, storable({ ...answered, durationMs: performance.now() - started })),
    );
    if (!order) return unknown();
    addLogContext({ orderNumber: order.orderNumber, workflowId: orderWorkflowId(order.merchantId, order.orderNumber) });
    relay.kick();
    return { ...text(200, 'OK', { orderNumber: order.orderNumber, ...answered }), logged: true };
  }

  /**
   * Which order a notice is for: body OrderID when it is ours, else `order_number`, else the body's
   * OrderNumber; always in the connection's scope (the database ranks the candidates, the best match
   * wins). Null when the notice names no order at all.
   */
  function noticeTarget(connection: ConnectionRow, notice: ShipNotice | null, query: NoticeQuery): NoticeTarget | null {
    const references = orderReferences(notice, query);
    return references.length === 0 ? null : { scope: connection, references };
  }

  return app;
}

