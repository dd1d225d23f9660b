/**
 * Bulk retry: choose stuck orders (merchant, reason, stuck for at least), see how many match, then
 * retry them all through one durable bulk-retry workflow and read its report: retried, and refused
 * with each order's reason (its situation changed meanwhile).
 */
import { Hono } from 'hono';
import { BULK_RETRY_LIMIT, stuckOrderSelection, type BulkRetryFilter } from '../../../activities/bulk-retry';
import { countOrders } from '../../../db/orders';
import { STUCK_REASONS, STUCK_REASON_TEXT } from '../../../domain/order';
import { ApiError, notFound } from '../../errors';
import { bulkRetryFilter, bulkRetrySummary, type BulkRetrySelection } from '../../ops-actions';
import type { RouteServices } from '../../services';
import { act, consoleRequester, formFields, textField } from '../actions';
import { CONSOLE_PATH, type ConsoleEnv } from '../guard';
import { Empty, Field, Page, PostForm, render, Select } from '../layout';
import { orderPath } from './orders';

const REASON_OPTIONS = STUCK_REASONS.map((r) => ({ value: r, label: STUCK_REASON_TEXT[r] }));

export function bulkRetryPages(services: RouteServices) {
  const { db, bulkRetries } = services;
  const app = new Hono<ConsoleEnv>();

  app.get('/bulk-retry', async (c) => {
    const selection: BulkRetrySelection = { merchant: c.req.query('merchant')?.trim() ?? '', reason: c.req.query('reason')?.trim() ?? '', stuckFor: c.req.query('stuckFor')?.trim() ?? '' };
    const counting = c.req.query('count') === '1';
    let matched: number | null = null;
    let problem: string | null = null;
    if (counting) {
      try {
        matched = await countOrders(db, stuckOrderSelection(bulkRetryFilter(selection)));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        problem = error.message;
      }
    }
    const flash = problem ? ({ kind: 'alert', text: `Refused: ${problem}` } as const) : c.get('flash');
    return render(
      c,
      <Page title="Bulk retry" session={c.get('session')} flash={flash} section="Orders">
        <p>Retries every stuck order that matches. Each order is retried only if it is still stuck for the reason it was selected for; the report lists the ones that refused and why.</p>
        <form method="get" action={`${CONSOLE_PATH}/bulk-retry`} class="filters card" aria-label="Choose stuck orders">
          <input type="hidden" name="count" value="1" />
          <Field label="Merchant" name="merchant" value={selection.merchant} placeholder="every merchant" />
          <Select label="Stuck reason" name="reason" value={selection.reason} options={REASON_OPTIONS} any="any reason" />
          <Field label="Stuck for" name="stuckFor" value={selection.stuckFor} placeholder="e.g. 4h (any)" />
          <button type="submit">Count matching</button>
        </form>
        {matched !== null && (
          <section class="card" aria-label="Matching orders">
            <p>
              <strong>{`${matched} ${matched === 1 ? 'order matches' : 'orders match'}`}</strong>
              {matched > BULK_RETRY_LIMIT ? ` (one run retries at most ${BULK_RETRY_LIMIT}; narrow the selection or run again)` : ''}.{' '}
              <a href={`${CONSOLE_PATH}/orders?${new URLSearchParams({ stuck: 'true', ...(selection.merchant ? { merchant: selection.merchant } : {}), ...(selection.reason ? { reason: selection.reason } : {}) })}`}>See them</a>
            </p>
            {matched > 0 && (
              <PostForm action={`${CONSOLE_PATH}/bulk-retry`} session={c.get('session')} label="Retry matching orders">
                <input type="hidden" name="merchant" value={selection.merchant} />
                <input type="hidden" name="reason" value={selection.reason} />
                <input type="hidden" name="stuckFor" value={selection.stuckFor} />
                <button type="submit">Retry matching orders</button>
              </PostForm>
            )}
          </section>
        )}
      </Page>,
    );
  });

  app.post('/bulk-retry', async (c) => {
    let workflowId: string | null = null;
    const response = await act(c, services, `${CONSOLE_PATH}/bulk-retry`, async () => {
      const fields = await formFields(c);
      const selection = {
        merchant: textField(fields, 'merchant', 'Merchant', { max: 50 }) ?? '',
        reason: textField(fields, 'reason', 'Stuck reason', { max: 50 }) ?? '',
        stuckFor: textField(fields, 'stuckFor', 'Stuck for', { max: 20 }) ?? '',
      };
      const filter: BulkRetryFilter = { ...bulkRetryFilter(selection), requestedBy: consoleRequester(c) };
      // Most runs finish within seconds and answer their report; a long one goes on durably.
      const started = await bulkRetries.start(filter, bulkRetrySummary(filter));
      workflowId = started.workflowId;
      return 'status' in started ? 'Bulk retry started; it is still running.' : `Bulk retry done: retried ${started.retried} of ${started.matched}.`;
    });
    // Started: its report page (the outcome message goes with it); refused: back to the selection.
    return workflowId ? c.redirect(`${CONSOLE_PATH}/bulk-retries/${encodeURIComponent(workflowId)}`, 303) : response;
  });

  app.get('/bulk-retries/:workflowId', async (c) => {
    const workflowId = c.req.param('workflowId');
    const status = await bulkRetries.status(workflowId);
    if (!status) throw notFound(`There is no bulk retry ${workflowId}.`);
    return render(
      c,
      <Page title="Bulk retry report" session={c.get('session')} flash={c.get('flash')} section="Orders">
        <p class="muted"><code>{workflowId}</code></p>
        {'status' in status ? (
          <p role="status">Still running. <a href={c.req.path}>Reload</a> to see its report.</p>
        ) : (
          <section class="card" aria-label="Report">
            <dl class="facts">
              <dt>Matched</dt><dd>{status.matched}</dd>
              <dt>Retried</dt><dd>{`Retried ${status.retried}`}</dd>
              <dt>Refused</dt><dd>{status.refused.length}</dd>
            </dl>
            {status.refused.length === 0 ? (
              <Empty>No order refused.</Empty>
            ) : (
              <table>
                <thead><tr><th>Order</th><th>Merchant</th><th>Why it refused</th></tr></thead>
                <tbody>
                  {status.refused.map((r) => (
                    <tr><td><a href={orderPath(r.merchantId, r.orderNumber)}>{r.orderNumber}</a></td><td>{r.merchantId}</td><td>{r.reason}</td></tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        )}
      </Page>,
    );
  });
  return app;
}
