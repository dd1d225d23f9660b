/**
 * Merchants: the list with each one's confirmation targets and deadline overrides, creating one, and
 * one merchant's settings (API key, confirmation target, signing secret, deadlines). The rules are
 * the admin API's (api/routes/admin.ts, merchant-settings.ts); a new key or secret is shown only in
 * the answer that made it, never in the session's flash.
 */
import { Hono } from 'hono';
import type { FC } from 'hono/jsx';
import { listAllConfirmationTargets, listConfirmationTargets, previousSecretValidUntil } from '../../../db/confirmations';
import { listConnections } from '../../../db/connections';
import { listMerchants } from '../../../db/merchants';
import type { ConfirmationTargetRow, MerchantRow } from '../../../db/schema';
import type { DeadlineOverrides } from '../../../domain/lifecycle';
import { pushTargetWarning } from '../../../runtime/webhook-address';
import { addMerchant, NewMerchant, newMerchantKey } from '../../routes/admin';
import { DeadlinesBody, existingMerchant, newSigningSecret, RotateSecretBody, setDeadlines, setTarget, TargetBody } from '../../routes/merchant-settings';
import type { RouteServices } from '../../services';
import { act, actAndShow, formFields, validForm, type ConsoleContext } from '../actions';
import { CONSOLE_PATH, type ConsoleEnv } from '../guard';
import { Copyable, Empty, Field, Page, PostForm, render, Select, When } from '../layout';
import { connectionPath } from './connections';

const LIST = `${CONSOLE_PATH}/merchants`;
const merchantPath = (id: string) => `${LIST}/${encodeURIComponent(id)}`;

/** The deadline overrides, in the order an order meets them, labelled as the form labels them. */
const DEADLINE_LABELS: Record<keyof DeadlineOverrides, string> = {
  awaitPayment: 'Await payment',
  pendingExport: 'Pending export',
  atWmsShipment: 'At WMS shipment',
  confirmation: 'Confirmation',
};

const sourceText = (t: Pick<ConfirmationTargetRow, 'source'>) => (t.source === '' ? 'all sources' : `source ${t.source}`);

const TargetsText: FC<{ targets: ConfirmationTargetRow[] }> = ({ targets }) =>
  targets.length === 0 ? (
    <span class="muted">pickup (no target set)</span>
  ) : (
    <ul>
      {targets.map((t) => (
        <li>
          {`${sourceText(t)}: ${t.mode}${t.mode === 'push' && t.webhookUrl ? ` to ${t.webhookUrl}` : ''}`}
          {pushTargetWarning(t) ? <strong class="warning">{' (plain http)'}</strong> : ''}
        </li>
      ))}
    </ul>
  );

const DeadlinesText: FC<{ deadlines: DeadlineOverrides }> = ({ deadlines }) => {
  const set = Object.entries(DEADLINE_LABELS).filter(([key]) => deadlines[key as keyof DeadlineOverrides]);
  return set.length === 0 ? (
    <span class="muted">service defaults</span>
  ) : (
    <span>{set.map(([key, label]) => `${label} ${deadlines[key as keyof DeadlineOverrides]}`).join(', ')}</span>
  );
};

/** A secret in the one answer that shows it. */
const SecretPage: FC<{ c: ConsoleContext; title: string; message: string; label: string; secret: string; merchantId: string }> = (p) => (
  <Page title={p.title} session={p.c.get('session')} flash={{ kind: 'status', text: p.message }} section="Merchants">
    <p class="warning">{`The ${p.label.toLowerCase()} is shown only this once: store it now. If it is lost, rotate it.`}</p>
    <section class="card" aria-label={p.label}>
      <Copyable label={p.label} value={p.secret} id="secret" />
    </section>
    <p>
      <a href={merchantPath(p.merchantId)}>{`Merchant ${p.merchantId}`}</a> · <a href={LIST}>All merchants</a>
    </p>
  </Page>
);

const MerchantTable: FC<{ merchants: MerchantRow[]; targets: ConfirmationTargetRow[] }> = ({ merchants, targets }) => (
  <table>
    <thead>
      <tr>
        <th>Id</th>
        <th>Name</th>
        <th>Created</th>
        <th>Confirmations</th>
        <th>Deadlines</th>
      </tr>
    </thead>
    <tbody>
      {merchants.map((m) => (
        <tr>
          <td>
            <a href={merchantPath(m.id)}>{m.id}</a>
          </td>
          <td>{m.name}</td>
          <td>
            <When at={m.createdAt} />
          </td>
          <td>
            <TargetsText targets={targets.filter((t) => t.merchantId === m.id)} />
          </td>
          <td>
            <DeadlinesText deadlines={m.deadlines} />
          </td>
        </tr>
      ))}
    </tbody>
  </table>
);

/** A stored push target that would be refused as new (plain http): it works, but ops should see it. */
const TargetWarning: FC<{ target: ConfirmationTargetRow }> = ({ target }) => {
  const warning = pushTargetWarning(target);
  return warning ? <p class="warning" role="note">{`Warning: ${warning}`}</p> : <></>;
};

/** While a rotated-away secret still signs beside the new one. */
const PreviousSecretNote: FC<{ target: ConfirmationTargetRow }> = ({ target }) => {
  const until = previousSecretValidUntil(target);
  return until ? (
    <span class="muted">
      {' · previous secret signs too until '}
      <When at={until} />
    </span>
  ) : (
    <></>
  );
};

const TargetTable: FC<{ c: ConsoleContext; merchantId: string; targets: ConfirmationTargetRow[] }> = ({ c, merchantId, targets }) =>
  targets.length === 0 ? (
    <Empty>No target set: the order source picks confirmations up (GET /api/shipments).</Empty>
  ) : (
    <table>
      <thead>
        <tr>
          <th>Sources</th>
          <th>Mode</th>
          <th>Webhook URL</th>
          <th>Signing secret</th>
        </tr>
      </thead>
      <tbody>
        {targets.map((t) => (
          <tr>
            <td>{sourceText(t)}</td>
            <td>{t.mode}</td>
            <td>
              {t.webhookUrl ?? ''}
              <TargetWarning target={t} />
            </td>
            <td>
              {t.mode === 'push' ? (
                <PostForm action={`${merchantPath(merchantId)}/rotate-secret`} session={c.get('session')} class="inline-form" label={`Rotate signing secret of ${sourceText(t)}`}>
                  <input type="hidden" name="source" value={t.source} />
                  <span class="muted">
                    {'rotated '}
                    <When at={t.secretRotatedAt} />
                    <PreviousSecretNote target={t} />
                  </span>
                  <button type="submit" class="secondary">
                    Rotate signing secret
                  </button>
                </PostForm>
              ) : (
                <span class="muted">not used by pickup</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );

const MerchantSettings: FC<{ c: ConsoleContext; merchant: MerchantRow; targets: ConfirmationTargetRow[] }> = ({ c, merchant, targets }) => {
  const path = merchantPath(merchant.id);
  const session = c.get('session');
  return (
    <>
      <h2>API key</h2>
      <PostForm action={`${path}/rotate-key`} session={session} class="card" label="Rotate API key">
        <span>
          {'Last rotated '}
          <When at={merchant.apiKeyRotatedAt} />
          {'. The old key stops working at once.'}
        </span>
        <button type="submit" class="danger">
          Rotate API key
        </button>
      </PostForm>

      <h2>Confirmation target</h2>
      <TargetTable c={c} merchantId={merchant.id} targets={targets} />
      <PostForm action={`${path}/confirmation-target`} session={session} class="card" label="Set confirmation target">
        <Select label="Mode" name="mode" value="pickup" options={['pickup', 'push']} />
        <Field label="Webhook URL" name="webhookUrl" type="url" placeholder="https://… (push only)" maxLength={2000} />
        <Field label="Order source" name="source" placeholder="blank: all sources" maxLength={50} />
        <button type="submit">Save confirmation target</button>
      </PostForm>

      <h2>Deadlines</h2>
      <p class="muted">How long an order may wait in each step before it is flagged stuck: a duration such as 30m, 4h or 3d; blank is the service default. Orders created from now on use them.</p>
      <PostForm action={`${path}/deadlines`} session={session} class="card" label="Deadlines">
        {Object.entries(DEADLINE_LABELS).map(([name, label]) => (
          <Field label={label} name={name} value={merchant.deadlines[name as keyof DeadlineOverrides] ?? ''} placeholder="service default" maxLength={20} />
        ))}
        <button type="submit">Save deadlines</button>
      </PostForm>
    </>
  );
};

export function merchantPages(services: RouteServices) {
  const { db, secretDigest } = services;
  const app = new Hono<ConsoleEnv>();

  app.get('/merchants', async (c) => {
    const [merchants, targets] = await Promise.all([listMerchants(db), listAllConfirmationTargets(db)]);
    return render(
      c,
      <Page title="Merchants" session={c.get('session')} flash={c.get('flash')} section="Merchants">
        {merchants.length === 0 ? <Empty>No merchants yet.</Empty> : <MerchantTable merchants={merchants} targets={targets} />}
        <h2>Create merchant</h2>
        <PostForm action={LIST} session={c.get('session')} class="card" label="Create merchant">
          <Field label="Merchant id" name="id" required maxLength={50} placeholder="acme" />
          <Field label="Name" name="name" required maxLength={200} placeholder="Acme Inc." />
          <button type="submit">Create merchant</button>
        </PostForm>
      </Page>,
    );
  });

  // Answers with the key itself: it may not wait in the session for the next page.
  app.post('/merchants', (c) =>
    actAndShow(c, services, LIST, async () => {
      const input = validForm(NewMerchant, await formFields(c), { id: 'Merchant id', name: 'Name' });
      const { merchant, apiKey } = await addMerchant(db, secretDigest, input);
      const message = `Merchant ${merchant.id} (${merchant.name}) created. Give its order source this API key.`;
      return render(c, <SecretPage c={c} title={`Merchant ${merchant.id} created`} message={message} label="API key" secret={apiKey} merchantId={merchant.id} />, 201);
    }),
  );

  app.get('/merchants/:id', async (c) => {
    const merchant = await existingMerchant(db, c.req.param('id'));
    const [targets, connections] = await Promise.all([listConfirmationTargets(db, merchant.id), listConnections(db, merchant.id)]);
    return render(
      c,
      <Page title={`Merchant ${merchant.id}`} session={c.get('session')} flash={c.get('flash')} section="Merchants">
        <dl class="facts card">
          <dt>Name</dt>
          <dd>{merchant.name}</dd>
          <dt>Created</dt>
          <dd>
            <When at={merchant.createdAt} />
          </dd>
          <dt>Connections</dt>
          <dd>
            {connections.length === 0 ? <span class="muted">none</span> : connections.map((con) => <><a href={connectionPath(con.username)}>{con.username}</a>{' · '}</>)}
            {connections.length === 0 ? ' · ' : ''}
            <a href={`${CONSOLE_PATH}/connections?merchant=${encodeURIComponent(merchant.id)}#new`}>New connection…</a>
          </dd>
        </dl>
        <MerchantSettings c={c} merchant={merchant} targets={targets} />
      </Page>,
    );
  });

  app.post('/merchants/:id/rotate-key', async (c) => {
    const { id } = await existingMerchant(db, c.req.param('id'));
    return actAndShow(c, services, merchantPath(id), async () => {
      const apiKey = await newMerchantKey(db, secretDigest, id);
      const message = `New API key for ${id}: the old one stopped working. Give this one to its order source.`;
      return render(c, <SecretPage c={c} title={`New API key for ${id}`} message={message} label="API key" secret={apiKey} merchantId={id} />);
    });
  });

  // A first push target gets its signing secret: then the answer shows it; otherwise back with a message.
  app.post('/merchants/:id/confirmation-target', async (c) => {
    const { id } = await existingMerchant(db, c.req.param('id'));
    const back = merchantPath(id);
    return actAndShow(c, services, back, async () => {
      const input = validForm(TargetBody, await formFields(c), { mode: 'Mode', webhookUrl: 'Webhook URL', source: 'Order source' });
      const { target, newSecret } = await setTarget(db, id, input, services.webhooks);
      const summary = `Confirmations of ${id} (${sourceText(target)}) now go by ${target.mode}${target.mode === 'push' ? ` to ${target.webhookUrl}` : ''}.`;
      if (!newSecret) return act(c, services, back, async () => summary);
      return render(c, <SecretPage c={c} title={`Signing secret for ${id}`} message={`${summary} Sign-check its webhooks with this secret.`} label="Signing secret" secret={newSecret} merchantId={id} />);
    });
  });

  app.post('/merchants/:id/rotate-secret', async (c) => {
    const { id } = await existingMerchant(db, c.req.param('id'));
    return actAndShow(c, services, merchantPath(id), async () => {
      const { source } = validForm(RotateSecretBody, await formFields(c), { source: 'Order source' });
      const { secret, previousValidUntil } = await newSigningSecret(db, id, source ?? null, services.webhooks.secretGraceMs);
      const grace = previousValidUntil ? `; the previous one keeps signing beside it until ${previousValidUntil}` : '';
      const message = `New signing secret for ${id} (${source ? `source ${source}` : 'all sources'}): webhooks are signed with it from now on${grace}.`;
      return render(c, <SecretPage c={c} title={`New signing secret for ${id}`} message={message} label="Signing secret" secret={secret} merchantId={id} />);
    });
  });

  app.post('/merchants/:id/deadlines', async (c) => {
    const { id } = await existingMerchant(db, c.req.param('id'));
    return act(c, services, merchantPath(id), async () => {
      const deadlines = validForm(DeadlinesBody, await formFields(c), DEADLINE_LABELS);
      await setDeadlines(db, id, deadlines);
      const set = Object.keys(deadlines).length;
      return set ? `Deadlines of ${id} saved; orders created from now on use them.` : `Deadlines of ${id} cleared: the service defaults apply to new orders.`;
    });
  });

  return app;
}
