/**
 * Connections: every ShipStation connection with its state and recent errors, a new connection's
 * setup sheet, and one connection's request log, test export and credentials. The rules are the
 * admin API's (api/routes/connections.ts); secrets are shown only in the answer that made them.
 */
import { z } from '@hono/zod-openapi';
import { Hono } from 'hono';
import type { FC } from 'hono/jsx';
import { listAllConnections } from '../../../db/connections';
import { listMerchants } from '../../../db/merchants';
import { toIso } from '../../../db/orders';
import { readConnectionLog, recentErrorsByConnection, type LogFilter, type RecentErrors } from '../../../db/request-log';
import type { ConnectionRow } from '../../../db/schema';
import {
  ConnectionSource,
  DisableReason,
  existingConnection,
  openConnection,
  rotatePassword,
  setupSheetFields,
  SHIPSTATION_SETUP_MENU,
  shipStationEndpoint,
  switchConnection,
  TEST_EXPORT_DAYS,
  testExportQuery,
} from '../../routes/connections';
import { serveExport } from '../../shipstation/export';
import { failure, type Outcome } from '../../shipstation/outcome';
import { EXPORT_DRY_RUN_ACTION, recordCall } from '../../shipstation/request-log';
import type { RouteServices } from '../../services';
import { act, actAndShow, formFields, validForm, type ConsoleContext } from '../actions';
import { CONSOLE_PATH, type ConsoleEnv } from '../guard';
import { Copyable, Empty, Field, Page, PostForm, render, Select, When } from '../layout';

const LIST = `${CONSOLE_PATH}/connections`;
export const connectionPath = (username: string) => `${LIST}/${encodeURIComponent(username)}`;
const merchantLink = (id: string) => `${CONSOLE_PATH}/merchants/${encodeURIComponent(id)}`;

/** "Recent" errors on the list: the last day's, which is what someone checking a store cares about. */
const RECENT_ERRORS_MS = 86_400_000;
const LOG_LIMIT = 100;
/** A test page's XML beyond this is cut: the page must stay readable (ShipStation pages are at most EXPORT_PAGE_SIZE orders). */
const MAX_XML_CHARS = 100_000;

const LOG_ACTIONS = ['export', EXPORT_DRY_RUN_ACTION, 'shipnotify'] as const;
const LOG_STATUSES = [
  { value: 'ok', label: 'OK (2xx)' },
  { value: 'error', label: 'Errors (4xx, 5xx)' },
] as const;

const scopeText = (c: Pick<ConnectionRow, 'source'>) => (c.source === null ? 'whole account' : `source ${c.source}`);

const State: FC<{ connection: ConnectionRow }> = ({ connection: c }) =>
  c.disabledAt ? (
    <span>
      <span class="badge rejected">disabled</span> {c.disabledReason ?? 'no reason given'}
    </span>
  ) : (
    <span class="badge confirmed">enabled</span>
  );

const Errors: FC<{ errors: RecentErrors | undefined }> = ({ errors }) =>
  errors ? (
    <span>
      <span class="warning">{`${errors.count} in 24 h`}</span>
      {'; latest '}
      {String(errors.latestStatus)} <When at={errors.latestAt} />
      {errors.latestError ? `: ${errors.latestError.slice(0, 160)}` : ''}
    </span>
  ) : (
    <span class="muted">none</span>
  );

const NewConnectionForm: FC<{ c: ConsoleContext; merchants: { id: string; name: string }[] }> = ({ c, merchants }) =>
  merchants.length === 0 ? (
    <Empty>
      There are no merchants yet: create one on <a href={`${CONSOLE_PATH}/merchants`}>Merchants</a> first.
    </Empty>
  ) : (
    <PostForm action={LIST} session={c.get('session')} class="card" label="New connection">
      <Select label="Merchant" name="merchant" value={c.req.query('merchant')} options={merchants.map((m) => ({ value: m.id, label: `${m.id} (${m.name})` }))} />
      <Field label="Order source" name="source" placeholder="blank: the whole account" maxLength={50} />
      <button type="submit">New connection</button>
    </PostForm>
  );

/** The values to paste into ShipStation's Custom Store form, each with a copy button. */
const SetupSheet: FC<{ url: string; username: string; password: string | null }> = (props) => (
  <section class="card" aria-label="ShipStation setup sheet">
    <p>
      In ShipStation: <strong>{SHIPSTATION_SETUP_MENU}</strong>, then enter:
    </p>
    {setupSheetFields(props)
      .filter((field) => field.value !== null)
      .map((field) => (
        <Copyable label={field.label} value={field.value!} id={`sheet-${field.label.toLowerCase().replace(/[^a-z]+/g, '-')}`} />
      ))}
  </section>
);

/** A password in the one answer that shows it. */
const PasswordSheet: FC<{ c: ConsoleContext; url: string; connection: ConnectionRow; password: string; title: string; message: string }> = (p) => (
  <Page title={p.title} session={p.c.get('session')} flash={{ kind: 'status', text: p.message }} section="Connections">
    <p class="warning">The password is shown only this once: paste it into ShipStation now. Only its digest is kept; if it is lost, rotate it.</p>
    <SetupSheet url={p.url} username={p.connection.username} password={p.password} />
    <p>
      <a href={connectionPath(p.connection.username)}>{`Connection ${p.connection.username}`}</a> · <a href={LIST}>All connections</a>
    </p>
  </Page>
);

/** The log's filter as the form holds it; unknown values are dropped (any), not refused. */
function readLogFilter(c: ConsoleContext): { action: string; status: string } {
  const action = c.req.query('action') ?? '';
  const status = c.req.query('status') ?? '';
  return {
    action: (LOG_ACTIONS as readonly string[]).includes(action) ? action : '',
    status: LOG_STATUSES.some((s) => s.value === status) ? status : '',
  };
}

type LogRow = Awaited<ReturnType<typeof readConnectionLog>>[number];

/** What a call was about: an export's window and page, or a notice's order. */
const callSubject = (r: LogRow) =>
  r.windowStart ? `${toIso(r.windowStart).slice(0, 16)} to ${r.windowEnd ? toIso(r.windowEnd).slice(0, 16) : '?'}, page ${r.page ?? '?'}` : (r.orderNumber ?? '');

/** The few facts of an entry's detail worth a column: orders served and pages, or what was left out. */
function detailText(detail: Record<string, unknown> | null): string {
  if (!detail) return '';
  const parts: string[] = [];
  if (typeof detail.orders === 'number') parts.push(`${detail.orders} order(s)`);
  if (typeof detail.pages === 'number') parts.push(`${detail.pages} page(s)`);
  if (Array.isArray(detail.leftOut) && detail.leftOut.length) parts.push(`left out: ${detail.leftOut.join('; ')}`);
  if (typeof detail.by === 'string') parts.push(`by ${detail.by}`);
  return parts.join(', ');
}

const RequestLog: FC<{ connection: ConnectionRow; filter: { action: string; status: string }; rows: LogRow[] }> = ({ connection, filter, rows }) => (
  <section aria-label="Request log">
    <h2>Request log</h2>
    <form method="get" action={connectionPath(connection.username)} class="filters card" aria-label="Filter the request log">
      <Select label="Action" name="action" value={filter.action} options={LOG_ACTIONS} any="any" />
      <Select label="Status" name="status" value={filter.status} options={LOG_STATUSES} any="any" />
      <button type="submit">Filter</button>
      <a href={connectionPath(connection.username)}>Clear</a>
    </form>
    {rows.length === 0 ? (
      <Empty>No calls{filter.action || filter.status ? ' match this filter' : ' yet'}.</Empty>
    ) : (
      <table>
        <thead>
          <tr>
            <th>At</th>
            <th>Action</th>
            <th class="num">Status</th>
            <th class="num">ms</th>
            <th>Window or order</th>
            <th>Answer</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              <td>
                <When at={r.at} />
              </td>
              <td>{r.action}</td>
              <td class="num">{r.status >= 400 ? <span class="warning">{String(r.status)}</span> : String(r.status)}</td>
              <td class="num">{String(r.durationMs)}</td>
              <td>{callSubject(r)}</td>
              <td>{r.error ?? detailText(r.detail)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
    <p class="muted">{`The latest ${LOG_LIMIT} calls that match; entries are kept REQUEST_LOG_DAYS days.`}</p>
  </section>
);

const ConnectionActions: FC<{ c: ConsoleContext; connection: ConnectionRow }> = ({ c, connection }) => {
  const path = connectionPath(connection.username);
  const session = c.get('session');
  return (
    <section class="card actions" aria-label="Actions">
      <PostForm action={`${path}/test`} session={session}>
        <button type="submit">Test connection</button>
      </PostForm>
      <PostForm action={`${path}/rotate-password`} session={session}>
        <button type="submit" class="secondary">Rotate password</button>
      </PostForm>
      {connection.disabledAt ? (
        <PostForm action={`${path}/enable`} session={session}>
          <button type="submit">Enable</button>
        </PostForm>
      ) : (
        <PostForm action={`${path}/disable`} session={session}>
          <Field label="Reason" name="reason" required maxLength={500} placeholder="ShipStation shows it to the merchant" />
          <button type="submit" class="danger">Disable</button>
        </PostForm>
      )}
    </section>
  );
};

const ConnectionFacts: FC<{ connection: ConnectionRow }> = ({ connection: c }) => (
  <dl class="facts card">
    <dt>Merchant</dt>
    <dd>
      <a href={merchantLink(c.merchantId)}>{c.merchantId}</a>
    </dd>
    <dt>Scope</dt>
    <dd>{scopeText(c)}</dd>
    <dt>State</dt>
    <dd>
      <State connection={c} />
      {c.disabledAt && (
        <>
          {' since '}
          <When at={c.disabledAt} />
        </>
      )}
    </dd>
    <dt>Last export</dt>
    <dd>
      <When at={c.lastExportAt} />
    </dd>
    <dt>Last shipnotify</dt>
    <dd>
      <When at={c.lastShipnotifyAt} />
    </dd>
    <dt>Created</dt>
    <dd>
      <When at={c.createdAt} />
    </dd>
    <dt>Password rotated</dt>
    <dd>
      <When at={c.passwordRotatedAt} />
    </dd>
  </dl>
);

/** What a test export found, as ShipStation would see it. */
const TestResult: FC<{ connection: ConnectionRow; query: URLSearchParams; outcome: Outcome; durationMs: number }> = ({ connection, query, outcome, durationMs }) => {
  const detail = (outcome.log.detail ?? {}) as { orders?: number; pages?: number; leftOut?: string[] };
  const xml = outcome.body.length > MAX_XML_CHARS ? `${outcome.body.slice(0, MAX_XML_CHARS)}\n… (cut at ${MAX_XML_CHARS} characters)` : outcome.body;
  return (
    <>
      {connection.disabledAt && (
        <p class="warning">{`This connection is disabled (${connection.disabledReason ?? 'no reason given'}): ShipStation's calls are refused with 403 until it is enabled. Below is what it would get once enabled.`}</p>
      )}
      <dl class="facts card">
        <dt>Request</dt>
        <dd>
          <code>{`GET /shipstation?${query}`}</code>
        </dd>
        <dt>HTTP status</dt>
        <dd>{`${outcome.status} in ${Math.round(durationMs)} ms`}</dd>
        {outcome.status === 200 ? (
          <>
            <dt>Orders</dt>
            <dd>{`${detail.orders ?? 0} on page 1 of ${detail.pages ?? 1} page(s)`}</dd>
            <dt>Left out</dt>
            <dd>{detail.leftOut?.length ? <ul>{detail.leftOut.map((reason) => <li>{reason}</li>)}</ul> : 'none'}</dd>
          </>
        ) : (
          <>
            <dt>ShipStation would show</dt>
            <dd>{outcome.body}</dd>
          </>
        )}
      </dl>
      {outcome.status === 200 && (
        <>
          <h2>The XML ShipStation would get</h2>
          <pre class="xml">{xml}</pre>
        </>
      )}
    </>
  );
};

export function connectionPages(services: RouteServices) {
  const { db, secretDigest, logger } = services;
  const app = new Hono<ConsoleEnv>();
  const url = shipStationEndpoint(services);

  app.get('/connections', async (c) => {
    const since = new Date(Date.now() - RECENT_ERRORS_MS).toISOString();
    const [connections, merchants, errors] = await Promise.all([listAllConnections(db), listMerchants(db), recentErrorsByConnection(db, since)]);
    return render(
      c,
      <Page title="Connections" session={c.get('session')} flash={c.get('flash')} section="Connections">
        {connections.length === 0 ? (
          <Empty>No connections yet: make one below, then enter its setup sheet in ShipStation.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Username</th>
                <th>Merchant</th>
                <th>Scope</th>
                <th>State</th>
                <th>Last export</th>
                <th>Last shipnotify</th>
                <th>Recent errors</th>
              </tr>
            </thead>
            <tbody>
              {connections.map((row) => (
                <tr>
                  <td>
                    <a href={connectionPath(row.username)}>{row.username}</a>
                  </td>
                  <td>
                    <a href={merchantLink(row.merchantId)}>{row.merchantId}</a>
                  </td>
                  <td>{scopeText(row)}</td>
                  <td>
                    <State connection={row} />
                  </td>
                  <td>
                    <When at={row.lastExportAt} />
                  </td>
                  <td>
                    <When at={row.lastShipnotifyAt} />
                  </td>
                  <td>
                    <Errors errors={errors.get(row.id)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <h2 id="new">New connection</h2>
        <NewConnectionForm c={c} merchants={merchants} />
      </Page>,
    );
  });

  // Answers the setup sheet itself: the password may not wait in the session for the next page.
  app.post('/connections', (c) =>
    actAndShow(c, services, LIST, async () => {
      const input = validForm(z.object({ merchant: z.string(), source: ConnectionSource.optional() }), await formFields(c), { merchant: 'Merchant', source: 'Order source' });
      const { connection, password } = await openConnection(db, secretDigest, input.merchant, input.source ?? null);
      const message = `Connection ${connection.username} created for merchant ${connection.merchantId} (${scopeText(connection)}).`;
      return render(c, <PasswordSheet c={c} url={url} connection={connection} password={password} title="ShipStation setup sheet" message={message} />, 201);
    }),
  );

  app.get('/connections/:username', async (c) => {
    const connection = await existingConnection(db, c.req.param('username'));
    const filter = readLogFilter(c);
    const logFilter: LogFilter = { action: filter.action || null, status: (filter.status || null) as LogFilter['status'] };
    const rows = await readConnectionLog(db, connection.id, LOG_LIMIT, logFilter);
    return render(
      c,
      <Page title={`Connection ${connection.username}`} session={c.get('session')} flash={c.get('flash')} section="Connections">
        <ConnectionFacts connection={connection} />
        <ConnectionActions c={c} connection={connection} />
        <h2>Setup sheet</h2>
        <p class="muted">The password is not shown again (only its digest is kept): rotate it to get a new one.</p>
        <SetupSheet url={url} username={connection.username} password={null} />
        <RequestLog connection={connection} filter={filter} rows={rows} />
      </Page>,
    );
  });

  /**
   * A dry run of the export ShipStation's "Test Connection" makes: the same answer, from the same
   * code, but nothing is marked served; logged as export-dry-run. It needs no password: the session
   * is the admin's, and the password is stored only as a digest anyway.
   */
  app.post('/connections/:username/test', async (c) => {
    const connection = await existingConnection(db, c.req.param('username'));
    const query = testExportQuery();
    const started = performance.now();
    let outcome: Outcome;
    try {
      outcome = await serveExport(services, connection, query, true);
    } catch (error) {
      outcome = failure(error, logger);
    }
    const durationMs = performance.now() - started;
    const by = c.get('session').name;
    outcome.log.detail = { ...outcome.log.detail, from: 'console', ...(by ? { by } : {}) };
    await recordCall(services, { connection, action: EXPORT_DRY_RUN_ACTION, outcome, durationMs });
    const message = outcome.status === 200 ? `Test connection would succeed: ShipStation would import the orders below (last ${TEST_EXPORT_DAYS} days).` : `ShipStation would get ${outcome.status}.`;
    return render(
      c,
      <Page title={`Test of ${connection.username}`} session={c.get('session')} flash={{ kind: outcome.status === 200 ? 'status' : 'alert', text: message }} section="Connections">
        <p class="muted">A dry run: the same answer ShipStation would get, but nothing is marked as exported. It is in the request log as export-dry-run.</p>
        <TestResult connection={connection} query={query} outcome={outcome} durationMs={durationMs} />
        <p>
          <a href={connectionPath(connection.username)}>{`Back to ${connection.username}`}</a>
        </p>
      </Page>,
    );
  });

  app.post('/connections/:username/rotate-password', async (c) => {
    const { username } = await existingConnection(db, c.req.param('username'));
    return actAndShow(c, services, connectionPath(username), async () => {
      const { connection, password } = await rotatePassword(db, secretDigest, username);
      const message = `New password for ${username}: the old one stopped working. Enter this one in ShipStation.`;
      return render(c, <PasswordSheet c={c} url={url} connection={connection} password={password} title={`New password for ${username}`} message={message} />);
    });
  });

  app.post('/connections/:username/disable', async (c) => {
    const { username } = await existingConnection(db, c.req.param('username'));
    return act(c, services, connectionPath(username), async () => {
      const { reason } = validForm(z.object({ reason: DisableReason }), await formFields(c), { reason: 'Reason' });
      await switchConnection(db, username, reason);
      return `${username} disabled: ShipStation's calls now get 403 with the reason "${reason}".`;
    });
  });

  app.post('/connections/:username/enable', async (c) => {
    const { username } = await existingConnection(db, c.req.param('username'));
    return act(c, services, connectionPath(username), async () => {
      await switchConnection(db, username, null);
      return `${username} enabled: ShipStation's calls are answered again.`;
    });
  });

  return app;
}
