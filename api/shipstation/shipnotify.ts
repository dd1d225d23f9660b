/**
 * `action=shipnotify`: one package shipped. Recorded once per shipment key and acknowledged only once
 * its fact is durable; the relay forwards it to the order afterwards (ShipStation never waits on Temporal).
 */
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { recordNotice } from '../../db/order-facts';
import { storable } from '../../db/orders';
import { noticeLogCtes } from '../../db/request-log';
import type { ConnectionRow } from '../../db/schema';
import { orderWorkflowId } from '../../domain/order';
import { orderReferences, readNotice, shipmentKeyFor, toShipmentReport, type NoticeQuery } from '../../domain/shipstation/shipnotify';
import { addLogContext } from '../../runtime/log-context';
import type { RouteServices } from '../services';
import { maskedQuery, queryParam } from './credentials';
import { text, type Outcome } from './outcome';

/** The query parameters a notice is read with (names matched case-insensitively), on arrival and on replay. */
export function noticeQuery(params: URLSearchParams): NoticeQuery {
  return {
    order_number: queryParam(params, 'order_number'),
    carrier: queryParam(params, 'carrier'),
    service: queryParam(params, 'service'),
    tracking_number: queryParam(params, 'tracking_number'),
  };
}

export async function receiveNotice(
  services: Pick<RouteServices, 'db' | 'relay'>,
  connection: ConnectionRow,
  c: Context,
  params: URLSearchParams,
  started: number,
): Promise<Outcome> {
  const { db, relay } = services;
  // The raw body whatever the Content-Type says: never let a form decoder near it.
  const body = (await c.req.text()).replace(/^\uFEFF/, '');
  const query = noticeQuery(params);
  const reading = readNotice(body, query);
  if (!reading.ok) return text(400, `the ShipNotice XML cannot be read: ${reading.reason}`, { orderNumber: query.order_number });
  const { notice, merged, warnings } = reading;
  const named = query.order_number ?? notice?.orderNumber ?? notice?.orderId;
  const unknown = () => text(404, named ? `order ${named} is not an order of this connection` : 'the notice names no order (order_number or OrderNumber)', { orderNumber: named });
  const references = orderReferences(notice, query);
  if (references.length === 0) return unknown();
  const digest = notice ? createHash('sha256').update(body).digest('hex') : null;
  // Made storable like everything else stored: a NUL in a tracking number must not fail the statement.
  const shipmentKey = storable(shipmentKeyFor(merged, digest, query));
  const { report, details } = toShipmentReport(merged, shipmentKey);
  const answered = { detail: { shipmentKey, tracking: report.trackingNumber ?? null, ...(warnings.length ? { warnings } : {}) } };
  // Finding the order, the raw copy (for replay), the fact and the log entry, in one statement: the
  // 200 means all are durable, and a notice costs one round trip besides the credential lookup.
  const order = await recordNotice(
    db,
    { scope: connection, references },
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
