/**
 * `action=export`: one page of the connection's orders whose LastModified lies in the window, as
 * ShipStation's XML. Serving a page is what marks its orders exported: the facts are durable before
 * ShipStation gets the page.
 */
import type { Context } from 'hono';
import { exportSnapshotPage, loadExportPage } from '../../db/export-pages';
import { recordFacts, type NewFact } from '../../db/order-facts';
import { contentFromRows, toIso } from '../../db/orders';
import type { ConnectionRow } from '../../db/schema';
import type { OrderStatus } from '../../domain/order';
import { exportWindow } from '../../domain/shipstation/dates';
import { buildExportDocument, importProblem, type ExportOrder } from '../../domain/shipstation/export-xml';
import type { RouteServices } from '../services';
import { queryParam } from './credentials';
import { text, type Outcome } from './outcome';

/**
 * Sent by `npm run ops -- connections test`: the export answers exactly as to ShipStation but takes
 * no snapshot, records no served window and marks nothing, so testing a connection changes nothing.
 */
export const DRY_RUN_HEADER = 'X-Connector-Dry-Run';

export const isDryRun = (c: Context) => c.req.header(DRY_RUN_HEADER)?.toLowerCase() === 'true';

/** ShipStation's clock may run ahead of ours; a window end further out than this is not trusted. */
const MAX_CLOCK_SKEW_MS = 15 * 60_000;

type ExportRecord = Awaited<ReturnType<typeof loadExportPage>>[number];

/** What a page tells its orders: served (ShipStation now has it: pending ones are marked) or left out, and why. */
function pageFacts(records: ExportRecord[], exportKey: string) {
  const served: ExportOrder[] = [];
  const facts: NewFact[] = [];
  const leftOut: string[] = [];
  for (const { order, lines } of records) {
    const exportOrder: ExportOrder = {
      ...contentFromRows(order, lines),
      orderId: order.orderId,
      status: order.status as OrderStatus,
      lastModified: toIso(order.lastModified),
    };
    const problem = importProblem(exportOrder);
    if (problem) {
      leftOut.push(`${order.orderNumber}: ${problem}`);
      facts.push({ orderId: order.orderId, fact: { kind: 'exportRefused', exportKey, reason: problem }, via: 'export' });
      continue;
    }
    served.push(exportOrder);
    if (order.status === 'pending' || (order.status === 'on_hold' && order.heldFrom === 'pending')) {
      facts.push({ orderId: order.orderId, fact: { kind: 'exported', exportKey }, via: 'export' });
    }
  }
  return { served, facts, leftOut };
}

export async function serveExport(
  services: Pick<RouteServices, 'db' | 'relay' | 'shipstation'>,
  connection: ConnectionRow,
  params: URLSearchParams,
  dryRun: boolean,
): Promise<Outcome> {
  const { db, relay, shipstation: settings } = services;
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
  const { served, facts, leftOut } = pageFacts(records, `${connection.username}:${snapshot.id}:${page}`);
  // Durable before ShipStation gets the page: if this fails, ShipStation gets 503, not orders we forget.
  if (!dryRun && facts.length) {
    await recordFacts(db, facts);
    relay.kick();
  }
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
        markedServed: facts.filter((f) => f.fact.kind === 'exported').length,
        ...(leftOut.length ? { leftOut } : {}),
        snapshot: snapshot.id,
        snapshotReused: snapshot.reused,
      },
    },
  };
}
