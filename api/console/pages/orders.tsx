/**
 * Orders: the filtered list (keyset paging), and one order with everything ops need to see why it is
 * where it is and the actions its rules allow now. Actions go through the same gateway and rules as
 * the ops API; who asked is stamped on the order's timeline.
 */
import { Hono } from 'hono';
import type { FC } from 'hono/jsx';
import { findOrderByNumber, listOrders, stateFromRecord, toIso, type OrderListFilter, type OrderRecord } from '../../../db/orders';
import type { OrderRow } from '../../../db/schema';
import { availableOpsActions, type OpsAction } from '../../../domain/lifecycle';
import { ORDER_STATUSES, STUCK_REASONS, STUCK_REASON_TEXT, type OrderStatus, type StuckReason } from '../../../domain/order';
import { describeFact } from '../../../domain/facts';
import { notFound } from '../../errors';
import { decodeOrderCursor, encodeOrderCursor, temporalWorkflowUrl } from '../../order-view';
import { discardPendingFact, ORDER_ACTIONS, replayShipment, retryFact } from '../../ops-actions';
import { sendOrderRequest } from '../../order-requests';
import type { RouteServices } from '../../services';
import { act, consoleRequester, formFields, textField, type ConsoleContext } from '../actions';
import { CONSOLE_PATH, type ConsoleEnv } from '../guard';
import { ago, Empty, Field, Page, PostForm, render, Select, When } from '../layout';

/** Rows per page unless the link says otherwise (`limit`, 1-200). */
const PAGE_SIZE = 50;
export const orderPath = (merchantId: string, orderNumber: string) => `${CONSOLE_PATH}/orders/${encodeURIComponent(merchantId)}/${encodeURIComponent(orderNumber)}`;

/** The list's filters as the form holds them; unknown values are dropped, not refused. */
interface ListQuery {
  merchant: string;
  status: string;
  stuck: boolean;
  reason: string;
  source: string;
  orderNumber: string;
  tracking: string;
  after: string;
  limit: string;
}

function readListQuery(c: ConsoleContext): ListQuery {
  const q = (name: string) => (c.req.query(name) ?? '').trim().slice(0, 200);
  return {
    merchant: q('merchant'),
    status: (ORDER_STATUSES as readonly string[]).includes(q('status')) ? q('status') : '',
    stuck: q('stuck') === 'true',
    reason: (STUCK_REASONS as readonly string[]).includes(q('reason')) ? q('reason') : '',
    source: q('source'),
    orderNumber: q('orderNumber'),
    tracking: q('tracking'),
    after: q('after'),
    limit: /^\d{1,3}$/.test(q('limit')) && Number(q('limit')) >= 1 && Number(q('limit')) <= 200 ? q('limit') : '',
  };
}

const pageSize = (q: ListQuery) => (q.limit ? Number(q.limit) : PAGE_SIZE);

const cursorOf = (o: OrderRow) => encodeOrderCursor(o.createdAt, o.orderId);

/** The list with the same filters, from `after` on ('' = the first page). */
function listLink(q: ListQuery, after: string): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...q, after })) if (value !== '' && value !== false) params.set(name, String(value));
  return `${CONSOLE_PATH}/orders?${params}`;
}

function listFilter(q: ListQuery): OrderListFilter {
  // An edited or stale link starts from the first page.
  const after = q.after ? (decodeOrderCursor(q.after) ?? undefined) : undefined;
  return {
    ...(q.merchant ? { merchantId: q.merchant } : {}),
    ...(q.status ? { status: q.status as OrderStatus } : {}),
    ...(q.stuck || q.reason ? { stuck: true } : {}),
    ...(q.reason ? { stuckReason: q.reason as StuckReason } : {}),
    ...(q.source ? { source: q.source } : {}),
    ...(q.orderNumber ? { orderNumber: q.orderNumber } : {}),
    ...(q.tracking ? { trackingNumber: q.tracking } : {}),
    ...(after ? { after } : {}),
    // One more than shown: whether there is a next page.
    limit: pageSize(q) + 1,
  };
}

const StuckText: FC<{ reason: string | null; since?: string | null }> = ({ reason, since }) =>
  reason ? (
    <span class="badge stuck" title={STUCK_REASON_TEXT[reason as StuckReason] ?? reason}>
      {`stuck: ${reason}${since ? ` for ${ago(since).replace(' ago', '')}` : ''}`}
    </span>
  ) : null;

const OrdersFilter: FC<{ q: ListQuery }> = ({ q }) => (
  <form method="get" action={`${CONSOLE_PATH}/orders`} class="filters card" aria-label="Filter orders">
    <Field label="Merchant" name="merchant" value={q.merchant} />
    <Select label="Status" name="status" value={q.status} options={ORDER_STATUSES} any="any" />
    <label class="check">
      <input type="checkbox" name="stuck" value="true" checked={q.stuck} /> Stuck only
    </label>
    <Select label="Stuck reason" name="reason" value={q.reason} options={STUCK_REASONS} any="any" />
    <Field label="Source" name="source" value={q.source} />
    <Field label="Order number" name="orderNumber" value={q.orderNumber} />
    <Field label="Tracking number" name="tracking" value={q.tracking} />
    <button type="submit">Filter</button>
    <a href={`${CONSOLE_PATH}/orders`}>Clear</a>
  </form>
);

export function orderPages(services: RouteServices) {
  const { db, gateway, temporalSettings } = services;
  const app = new Hono<ConsoleEnv>();

  app.get('/orders', async (c) => {
    const q = readListQuery(c);
    const rows = await listOrders(db, listFilter(q));
    const page = rows.slice(0, pageSize(q));
    const next = rows.length > page.length ? listLink(q, cursorOf(page[page.length - 1]!)) : null;
    return render(
      c,
      <Page title="Orders" session={c.get('session')} flash={c.get('flash')} section="Orders">
        <OrdersFilter q={q} />
        <p>
          <a href={`${CONSOLE_PATH}/bulk-retry${q.merchant || q.reason ? `?${new URLSearchParams({ merchant: q.merchant, reason: q.reason })}` : ''}`}>Bulk retry stuck orders…</a>
        </p>
        {page.length === 0 ? (
          <Empty>No order matches.</Empty>
        ) : (
          <table>
            <thead>
              <tr><th>Order</th><th>Merchant</th><th>Source</th><th>Status</th><th>Since</th><th class="num">Total</th><th>Created</th></tr>
            </thead>
            <tbody>
              {page.map((o) => (
                <tr>
                  <td><a href={orderPath(o.merchantId, o.orderNumber)}>{o.orderNumber}</a></td>
                  <td>{o.merchantId}</td>
                  <td>{o.source ?? <span class="muted">none</span>}</td>
                  <td>{o.status} <StuckText reason={o.stuckReason} since={o.stuckSince ? toIso(o.stuckSince) : null} /></td>
                  <td><When at={o.statusSince} /></td>
                  <td class="num">{`${o.total} ${o.currency}`}</td>
                  <td><When at={o.createdAt} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <div class="pager">
          {q.after && <a href={listLink(q, '')}>First page</a>}
          {next && <a href={next}>Next page</a>}
        </div>
      </Page>,
    );
  });

  const existing = async (c: ConsoleContext): Promise<OrderRecord> => {
    const { merchant, orderNumber } = c.req.param() as { merchant: string; orderNumber: string };
    const record = await findOrderByNumber(db, merchant, orderNumber);
    if (!record) throw notFound(`Merchant ${merchant} has no order ${orderNumber}.`);
    return record;
  };

  app.get('/orders/:merchant/:orderNumber', async (c) => {
    const record = await existing(c);
    const temporalUrl = temporalWorkflowUrl(temporalSettings, record.order.workflowId);
    return render(
      c,
      <Page title={`Order ${record.order.orderNumber}`} session={c.get('session')} flash={c.get('flash')} section="Orders">
        <OrderSummary record={record} temporalUrl={temporalUrl} />
        <OrderActions record={record} session={c.get('session')} />
        <Lines record={record} />
        <Shipments record={record} session={c.get('session')} />
        <PendingFacts record={record} session={c.get('session')} />
        <Timeline record={record} />
      </Page>,
    );
  });

  // ---- actions on one order: the gateway, as the ops API sends them --------------------------------

  const DONE: Record<OpsAction, string> = {
    retry: 'Retried',
    resend: 'Re-offered to ShipStation',
    release: 'Released',
    hold: 'Put on hold',
    cancel: 'Canceled',
  };
  for (const [action, { update, withReason }] of Object.entries(ORDER_ACTIONS) as [OpsAction, (typeof ORDER_ACTIONS)[OpsAction]][]) {
    app.post(`/orders/:merchant/:orderNumber/${action}`, async (c) => {
      const { merchant, orderNumber } = c.req.param();
      const back = orderPath(merchant, orderNumber);
      return act(c, services, back, async () => {
        const record = await existing(c);
        const args = withReason ? { reason: textField(await formFields(c), 'reason', 'Reason', { max: 500, required: true }) } : {};
        await sendOrderRequest(db, gateway, { merchantId: record.order.merchantId, orderNumber: record.order.orderNumber }, update, args, consoleRequester(c));
        return `${DONE[action]}: order ${orderNumber}.`;
      });
    });
  }

  app.post('/orders/:merchant/:orderNumber/shipments/:id/replay', async (c) => {
    const { merchant, orderNumber, id } = c.req.param();
    return act(c, services, orderPath(merchant, orderNumber), async () => {
      if (!/^\d{1,15}$/.test(id)) throw notFound(`No shipment ${id}.`);
      const { delivered } = await replayShipment(services, Number(id));
      return delivered ? `Notice replayed: shipment ${id} went through again.` : `Notice replayed: stored, and forwarded to the order as soon as it can be.`;
    });
  });

  app.post('/orders/:merchant/:orderNumber/facts/:id/:action{retry|discard}', async (c) => {
    const { merchant, orderNumber, id, action } = c.req.param();
    return act(c, services, orderPath(merchant, orderNumber), async () => {
      if (!/^\d{1,15}$/.test(id)) throw notFound(`No fact ${id}.`);
      if (action === 'retry') {
        const { delivered } = await retryFact(services, Number(id));
        return delivered ? `Fact ${id} delivered.` : `Fact ${id} could not be delivered yet; it stays pending.`;
      }
      const reason = textField(await formFields(c), 'reason', 'Reason', { max: 500, required: true });
      await discardPendingFact(services, Number(id), reason);
      return `Fact ${id} discarded.`;
    });
  });

  return app;
}

// ---- the order page's parts -----------------------------------------------------------------------

const OrderSummary: FC<{ record: OrderRecord; temporalUrl: string }> = ({ record: { order: o }, temporalUrl }) => (
  <section class="card" aria-label="Summary">
    <dl class="facts">
      <dt>Merchant</dt><dd>{o.merchantId}</dd>
      <dt>Source</dt><dd>{o.source ?? <span class="muted">none</span>}</dd>
      <dt>Status</dt><dd><strong>{o.status}</strong> since <When at={o.statusSince} /></dd>
      {o.stuckReason && (
        <>
          <dt>Stuck</dt>
          <dd>
            <span class="badge stuck">{o.stuckReason}</span> since <When at={o.stuckSince!} /> ({ago(toIso(o.stuckSince!))}):{' '}
            {STUCK_REASON_TEXT[o.stuckReason as StuckReason] ?? o.stuckReason}
            {o.stuckDetail ? ` (${o.stuckDetail})` : ''}
          </dd>
        </>
      )}
      {o.status === 'on_hold' && (<><dt>Held</dt><dd>{o.holdReason ?? 'no reason given'}; returns to {o.heldFrom ?? 'pending'} when released</dd></>)}
      {o.cancelReason && (<><dt>Canceled</dt><dd>{o.cancelReason}</dd></>)}
      <dt>Paid</dt><dd>{o.paid ? 'yes' : 'no'}</dd>
      <dt>Total</dt><dd>{`${o.total} ${o.currency}`}</dd>
      <dt>Created</dt><dd><When at={o.createdAt} /></dd>
      <dt>Last modified</dt><dd><When at={o.lastModified} /> (what ShipStation's export windows see)</dd>
      <dt>Workflow</dt><dd><a href={temporalUrl} rel="noreferrer">Temporal Web UI</a> <code>{o.workflowId}</code></dd>
    </dl>
    {o.flags.length > 0 && (
      <>
        <h2>Flags</h2>
        <ul>{o.flags.map((f) => <li><strong>{f.code}</strong>: {f.detail} (<When at={f.at} />)</li>)}</ul>
      </>
    )}
  </section>
);

const ACTION_LABEL: Record<OpsAction, string> = { retry: 'Retry', resend: 'Resend', hold: 'Hold', release: 'Release', cancel: 'Cancel' };
const ACTION_HELP: Record<OpsAction, string> = {
  retry: 'clears the stuck mark and does what its reason needs (re-offer to ShipStation, or redeliver confirmations)',
  resend: 'offers the order to ShipStation again at its next poll',
  hold: 'ShipStation shows it On Hold until released',
  release: 'back to where it was before the hold',
  cancel: 'ShipStation shows it Cancelled at its next poll',
};

const OrderActions: FC<{ record: OrderRecord; session: ConsoleEnv['Variables']['session'] }> = ({ record, session }) => {
  const actions = availableOpsActions(stateFromRecord(record));
  const base = orderPath(record.order.merchantId, record.order.orderNumber);
  return (
    <section aria-label="Actions">
      <h2>Actions</h2>
      {actions.length === 0 ? (
        <Empty>{`Nothing to do: an order that is ${record.order.status} allows no action.`}</Empty>
      ) : (
        <div class="actions">
          {actions.map((action) => (
            <PostForm action={`${base}/${action}`} session={session} label={`${ACTION_LABEL[action]} order`} class="card">
              {ORDER_ACTIONS[action].withReason && <Field label="Reason" name="reason" required maxLength={500} />}
              <button type="submit" class={action === 'cancel' ? 'danger' : undefined} title={ACTION_HELP[action]}>
                {ACTION_LABEL[action]}
              </button>
            </PostForm>
          ))}
        </div>
      )}
    </section>
  );
};

const Lines: FC<{ record: OrderRecord }> = ({ record }) => (
  <section aria-label="Lines">
    <h2>Lines</h2>
    <table>
      <thead><tr><th>Line</th><th>SKU</th><th>Name</th><th class="num">Ordered</th><th class="num">Shipped</th><th class="num">Unit price</th></tr></thead>
      <tbody>
        {record.lines.map((l) => (
          <tr>
            <td>{l.lineId}</td><td>{l.sku}</td><td>{l.name}{l.adjustment ? ' (adjustment)' : ''}</td>
            <td class="num">{l.quantity}</td><td class="num">{l.shippedQuantity}</td><td class="num">{l.unitPrice}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </section>
);

function confirmationState(s: OrderRecord['shipments'][number]) {
  if (s.confirmationDeliveredAt) return <span class="badge delivered">delivered <When at={s.confirmationDeliveredAt} /></span>;
  if (s.deliveryRejected) return <span class="badge rejected">{`rejected: ${s.deliveryRejected}`}</span>;
  return <span class="badge">pending</span>;
}

const Shipments: FC<{ record: OrderRecord; session: ConsoleEnv['Variables']['session'] }> = ({ record, session }) => (
  <section aria-label="Shipments">
    <h2>Shipments</h2>
    {record.shipments.length === 0 ? (
      <Empty>No shipment yet.</Empty>
    ) : (
      <table>
        <thead><tr><th>Carrier / service</th><th>Tracking</th><th>Ship date</th><th class="num">Cost</th><th>Lines</th><th>Confirmation</th><th></th></tr></thead>
        <tbody>
          {record.shipments.map((s) => (
            <tr>
              <td>{s.carrier}{s.service ? ` / ${s.service}` : ''}</td>
              <td>{s.trackingNumber ?? <span class="muted">none</span>}</td>
              <td>{s.shipDate ?? ''}</td>
              <td class="num">{s.shippingCost ?? ''}</td>
              <td>
                {s.lines.map((l) => `${l.lineId} × ${l.quantity}`).join(', ')}
                {s.unmatched?.length ? <span class="warning">{` (unmatched: ${s.unmatched.map((u) => `${u.lineId ?? u.sku} × ${u.quantity}`).join(', ')})`}</span> : ''}
              </td>
              <td>{confirmationState(s)}</td>
              <td>
                <PostForm action={`${orderPath(record.order.merchantId, record.order.orderNumber)}/shipments/${s.id}/replay`} session={session} label={`Replay notice of shipment ${s.id}`}>
                  <button type="submit" class="secondary">Replay notice</button>
                </PostForm>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </section>
);

const PendingFacts: FC<{ record: OrderRecord; session: ConsoleEnv['Variables']['session'] }> = ({ record, session }) =>
  record.pendingFacts.length === 0 ? null : (
    <section aria-label="Facts waiting">
      <h2>Facts waiting to reach the order</h2>
      <p class="muted">Reported (by ShipStation, a pickup acknowledgement, a replay) and stored, but not yet taken by the order's workflow.</p>
      <table>
        <thead><tr><th>Fact</th><th>Received</th><th class="num">Attempts</th><th>Last error</th><th></th></tr></thead>
        <tbody>
          {record.pendingFacts.map((f) => {
            const base = `${orderPath(record.order.merchantId, record.order.orderNumber)}/facts/${f.id}`;
            return (
              <tr>
                <td>{describeFact(f.fact)}</td>
                <td><When at={f.receivedAt} /></td>
                <td class="num">{f.attempts}</td>
                <td>{f.lastError ?? ''}</td>
                <td class="actions">
                  <PostForm action={`${base}/retry`} session={session} label={`Retry fact ${f.id}`}>
                    <button type="submit" class="secondary">Retry fact</button>
                  </PostForm>
                  <PostForm action={`${base}/discard`} session={session} label={`Discard fact ${f.id}`}>
                    <Field label="Reason" name="reason" required maxLength={500} />
                    <button type="submit" class="danger">Discard fact</button>
                  </PostForm>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );

const Timeline: FC<{ record: OrderRecord }> = ({ record }) => (
  <section aria-label="Timeline">
    <h2>Timeline</h2>
    <ol class="timeline">
      {[...record.order.timeline].reverse().map((e) => (
        <li>
          <When at={e.at} /> <strong>{e.event}</strong>
          {e.by ? ` ${e.by}` : ''}
          {e.from || e.to ? ` (${e.from ?? ''} → ${e.to ?? ''})` : ''}
          {e.detail ? `: ${e.detail}` : ''}
        </li>
      ))}
    </ol>
  </section>
);
