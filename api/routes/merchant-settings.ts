/** Admin API: how a merchant's confirmations are delivered, and its deadline overrides. */
import { createRoute, z } from '@hono/zod-openapi';
import { listConfirmationTargets, previousSecretValidUntil, rotateSigningSecret, setConfirmationTarget } from '../../db/confirmations';
import type { Db } from '../../db/client';
import { findMerchant, setMerchantDeadlines } from '../../db/merchants';
import { toIso } from '../../db/orders';
import type { ConfirmationTargetRow, MerchantRow } from '../../db/schema';
import { MAX_DURATION_MS, parseDuration } from '../../domain/dates';
import { pushTargetWarning, webhookUrlProblem, type NetworkPolicy } from '../../runtime/webhook-address';
import { requireAdmin } from '../auth';
import { badRequest, notFound } from '../errors';
import { text } from '../order-payload';
import type { RouteServices } from '../services';
import { errorResponses, json, newRouter } from './common';

const MerchantParam = z.object({ id: text(50).min(1) });
const admin = { tags: ['merchant settings'], security: [{ adminToken: [] }] };

const TargetSchema = z
  .object({
    source: z.string().nullable().openapi({ description: 'null = the default for every source' }),
    mode: z.enum(['pickup', 'push']),
    webhookUrl: z.string().nullable(),
    secretRotatedAt: z.string().nullable(),
    previousSecretValidUntil: z.string().optional().openapi({ description: 'After a rotation: until when the previous secret still signs beside the new one' }),
    warning: z.string().optional().openapi({ description: 'Set for a stored target that would not be accepted as new (plain http); it still works' }),
    updatedAt: z.string(),
  })
  .openapi('ConfirmationTarget');

export const TargetBody = z
  .object({
    source: text(50).min(1).optional(),
    mode: z.enum(['pickup', 'push']),
    webhookUrl: z
      .string()
      .max(2000)
      .refine((v) => /^https?:\/\/\S+$/.test(v), { message: 'an http(s) URL' })
      .optional(),
  })
  .strict()
  .refine((b) => b.mode === 'pickup' || b.webhookUrl, { path: ['webhookUrl'], message: 'required for push' })
  .openapi('ConfirmationTargetInput');

/** Which target's signing secret to rotate: a source's own, or (none) the merchant's default. */
export const RotateSecretBody = z.object({ source: text(50).min(1).optional() }).strict();

/** Capped like the environment's deadlines (runtime/config.ts): a timer past it would be refused by Temporal. */
export const Duration = z.string().refine(
  (v) => {
    const ms = parseDuration(v) ?? 0;
    return ms > 0 && ms <= MAX_DURATION_MS;
  },
  { message: 'a duration such as 30m, 4h or 3d, at most 3650d' },
);
export const DeadlinesBody = z
  .object({ awaitPayment: Duration.optional(), pendingExport: Duration.optional(), atWmsShipment: Duration.optional(), confirmation: Duration.optional() })
  .strict()
  .openapi('DeadlineOverrides', { description: 'Unset keys use the service defaults; applies to orders created afterwards' });

/*
 * The rules both the admin API and the ops console apply (one place, so both refuse the same input).
 */

export async function existingMerchant(db: Db, id: string): Promise<MerchantRow> {
  const merchant = await findMerchant(db, id);
  if (!merchant) throw notFound(`no merchant ${id}`);
  return merchant;
}

/**
 * Sets pickup or push for the merchant or one source; a new push target's signing secret comes back
 * once. A webhook URL must pass the network policy (https, no internal literal address), except the
 * one already stored for that target: it keeps working until changed.
 */
export async function setTarget(db: Db, merchantId: string, body: z.infer<typeof TargetBody>, policy: NetworkPolicy) {
  await existingMerchant(db, merchantId);
  const source = body.source ?? null;
  if (body.mode === 'push' && body.webhookUrl) {
    const stored = (await listConfirmationTargets(db, merchantId)).find((t) => t.source === (source ?? ''));
    const problem = stored?.webhookUrl === body.webhookUrl ? null : webhookUrlProblem(body.webhookUrl, policy);
    if (problem) throw badRequest(`webhookUrl ${problem}`, [{ path: 'webhookUrl', message: problem }]);
  }
  return setConfirmationTarget(db, { merchantId, source, mode: body.mode, webhookUrl: body.webhookUrl ?? null });
}

/**
 * A new signing secret (shown once) for the merchant's target of that source (null: its default);
 * the previous one keeps signing beside it for the grace (WEBHOOK_SECRET_GRACE).
 */
export async function newSigningSecret(db: Db, merchantId: string, source: string | null, graceMs: number) {
  const rotated = await rotateSigningSecret(db, merchantId, source, graceMs);
  if (!rotated) throw notFound(`merchant ${merchantId} has no confirmation target for ${source === null ? 'all sources' : `source ${source}`}`);
  return rotated;
}

/** Replaces the merchant's deadline overrides (unset keys: the service defaults). */
export async function setDeadlines(db: Db, merchantId: string, deadlines: z.infer<typeof DeadlinesBody>): Promise<void> {
  await existingMerchant(db, merchantId);
  await setMerchantDeadlines(db, merchantId, deadlines);
}

const view = (t: ConfirmationTargetRow) => {
  const warning = pushTargetWarning(t);
  const previousUntil = previousSecretValidUntil(t);
  return {
    source: t.source === '' ? null : t.source,
    mode: t.mode,
    webhookUrl: t.webhookUrl,
    secretRotatedAt: t.secretRotatedAt ? toIso(t.secretRotatedAt) : null,
    ...(previousUntil ? { previousSecretValidUntil: previousUntil } : {}),
    ...(warning ? { warning } : {}),
    updatedAt: toIso(t.updatedAt),
  };
};

export function merchantSettingsRoutes(services: RouteServices) {
  const { db } = services;
  const app = newRouter();
  app.use('*', requireAdmin(services));
  const merchantOr404 = (id: string) => existingMerchant(db, id);

  app.openapi(
    createRoute({ ...admin, method: 'get', path: '/merchants/{id}/confirmation-targets', summary: 'Confirmation delivery targets (pickup when none)', request: { params: MerchantParam }, responses: { 200: json(z.object({ targets: z.array(TargetSchema) }), 'Targets'), ...errorResponses } }),
    async (c) => {
      const { id } = c.req.valid('param');
      await merchantOr404(id);
      return c.json({ targets: (await listConfirmationTargets(db, id)).map(view) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...admin,
      method: 'put',
      path: '/merchants/{id}/confirmation-targets',
      summary: 'Set pickup or push (webhook) for the merchant or one source; a new push target gets its signing secret once',
      request: { params: MerchantParam, body: { content: { 'application/json': { schema: TargetBody } }, required: true } },
      responses: { 200: json(TargetSchema.extend({ signingSecret: z.string().optional() }), 'Set'), ...errorResponses },
    }),
    async (c) => {
      const { target, newSecret } = await setTarget(db, c.req.valid('param').id, c.req.valid('json'), services.webhooks);
      return c.json({ ...view(target), ...(newSecret ? { signingSecret: newSecret } : {}) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...admin,
      method: 'post',
      path: '/merchants/{id}/confirmation-targets/rotate-secret',
      summary: 'New webhook signing secret (shown once); the old one keeps signing beside it until previousSecretValidUntil (WEBHOOK_SECRET_GRACE)',
      request: { params: MerchantParam, body: { content: { 'application/json': { schema: RotateSecretBody } }, required: true } },
      responses: { 200: json(z.object({ signingSecret: z.string(), previousSecretValidUntil: z.string().nullable() }), 'New secret'), ...errorResponses },
    }),
    async (c) => {
      const rotated = await newSigningSecret(db, c.req.valid('param').id, c.req.valid('json').source ?? null, services.webhooks.secretGraceMs);
      return c.json({ signingSecret: rotated.secret, previousSecretValidUntil: rotated.previousValidUntil }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...admin,
      method: 'put',
      path: '/merchants/{id}/deadlines',
      summary: "Override the merchant's stuck-order deadlines",
      request: { params: MerchantParam, body: { content: { 'application/json': { schema: DeadlinesBody } }, required: true } },
      responses: { 200: json(DeadlinesBody, 'The overrides now in force'), ...errorResponses },
    }),
    async (c) => {
      const deadlines = c.req.valid('json');
      await setDeadlines(db, c.req.valid('param').id, deadlines);
      return c.json(deadlines, 200);
    },
  );
  return app;
}
