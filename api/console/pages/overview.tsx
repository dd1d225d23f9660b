/**
 * Overview: where every merchant's orders stand, what is stuck and why (each group a link to the
 * orders it counts), whether ShipStation is still polling each connection, and facts still on their
 * way to their orders.
 */
import { Hono } from 'hono';
import { listAllConnections } from '../../../db/connections';
import { factBacklog, listFacts } from '../../../db/order-facts';
import { describeFact } from '../../../domain/facts';
import { ordersByStatus, stuckByReason } from '../../../db/ops-overview';
import { toIso } from '../../../db/orders';
import { ORDER_STATUSES, STUCK_REASON_TEXT, type StuckReason } from '../../../domain/order';
import type { RouteServices } from '../../services';
import { CONSOLE_PATH, type ConsoleEnv } from '../guard';
import { ago, Empty, Page, render, When } from '../layout';
import { orderPath } from './orders';

/** Facts listed on the overview; the rest are counted. */
const WAITING_SHOWN = 20;

const ordersLink = (query: Record<string, string>) => `${CONSOLE_PATH}/orders?${new URLSearchParams(query)}`;

export function overviewPages(services: RouteServices) {
  const { db } = services;
  const app = new Hono<ConsoleEnv>();

  app.get('/', async (c) => {
    const [counts, stuck, connections, backlog, waiting] = await Promise.all([
      ordersByStatus(db),
      stuckByReason(db),
      listAllConnections(db),
      factBacklog(db),
      listFacts(db, { state: 'pending', limit: WAITING_SHOWN }),
    ]);
    const merchants = [...new Set(counts.map((r) => r.merchantId))];
    const countOf = (merchantId: string, status: string) => counts.find((r) => r.merchantId === merchantId && r.status === status)?.count ?? 0;
    const pollWarningMs = services.console.pollWarningMs;
    const now = Date.now();
    return render(
      c,
      <Page title="Overview" session={c.get('session')} flash={c.get('flash')} section="Overview">
        <h2>Stuck orders</h2>
        {stuck.length === 0 ? (
          <Empty>No order is stuck.</Empty>
        ) : (
          <table>
            <thead>
              <tr><th>Merchant</th><th>Why</th><th class="num">Orders</th><th>Stuck since</th></tr>
            </thead>
            <tbody>
              {stuck.map((g) => (
                <tr>
                  <td>{g.merchantId}</td>
                  <td>
                    <a href={ordersLink({ merchant: g.merchantId, stuck: 'true', reason: g.reason })}>{STUCK_REASON_TEXT[g.reason as StuckReason] ?? g.reason}</a>
                  </td>
                  <td class="num">{g.count}</td>
                  <td><When at={g.oldestSince} /> ({ago(g.oldestSince, now)})</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}

        <h2>Orders by status</h2>
        {merchants.length === 0 ? (
          <Empty>No orders yet.</Empty>
        ) : (
          <table>
            <thead>
              <tr><th>Merchant</th>{ORDER_STATUSES.map((s) => <th class="num">{s}</th>)}</tr>
            </thead>
            <tbody>
              {merchants.map((m) => (
                <tr>
                  <td>{m}</td>
                  {ORDER_STATUSES.map((s) => (
                    <td class="num">{countOf(m, s) ? <a href={ordersLink({ merchant: m, status: s })}>{countOf(m, s)}</a> : 0}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        )}

        <h2>ShipStation connections</h2>
        {connections.length === 0 ? (
          <Empty>No connection yet: create one under Connections.</Empty>
        ) : (
          <table>
            <thead>
              <tr><th>Connection</th><th>Merchant</th><th>Last export</th><th>Last shipnotify</th><th>State</th></tr>
            </thead>
            <tbody>
              {connections.map((conn) => {
                const lastExport = conn.lastExportAt ? toIso(conn.lastExportAt) : null;
                const silent = !conn.disabledAt && (!lastExport || now - Date.parse(lastExport) > pollWarningMs);
                return (
                  <tr>
                    <td><a href={`${CONSOLE_PATH}/connections/${encodeURIComponent(conn.username)}`}>{conn.username}</a></td>
                    <td>{conn.merchantId}{conn.source ? ` (source ${conn.source})` : ''}</td>
                    <td><When at={lastExport} /></td>
                    <td><When at={conn.lastShipnotifyAt} /></td>
                    <td>
                      {conn.disabledAt ? (
                        <span class="muted">disabled</span>
                      ) : silent ? (
                        <span class="warning">{lastExport ? `ShipStation has not polled for ${ago(lastExport, now).replace(' ago', '')}` : 'ShipStation has never polled'}</span>
                      ) : (
                        'polling'
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}

        <h2>Facts on their way to orders</h2>
        {backlog.pending === 0 ? (
          <Empty>None: every shipment, export and acknowledgement has reached its order.</Empty>
        ) : (
          <>
            <p class={backlog.failing ? 'warning' : ''}>
              {`${backlog.pending} waiting${backlog.failing ? `, ${backlog.failing} after failed attempts` : ''}; the oldest arrived `}
              <When at={backlog.oldestReceivedAt} />. Each order's page lists its own, with Retry and Discard.
            </p>
            <table>
              <thead>
                <tr><th>Order</th><th>Fact</th><th>Received</th><th class="num">Attempts</th><th>Last error</th></tr>
              </thead>
              <tbody>
                {waiting.map(({ fact, merchantId, orderNumber }) => (
                  <tr>
                    <td><a href={orderPath(merchantId, orderNumber)}>{orderNumber}</a> ({merchantId})</td>
                    <td>{describeFact(fact.fact)}</td>
                    <td><When at={fact.receivedAt} /></td>
                    <td class="num">{fact.attempts}</td>
                    <td>{fact.lastError ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {backlog.pending > WAITING_SHOWN && <p class="muted">{`The newest ${WAITING_SHOWN} are shown.`}</p>}
          </>
        )}
      </Page>,
    );
  });
  return app;
}
