/** Admin API: how a merchant's confirmations are delivered, and its deadline overrides. */
import { createRoute, z } from '@hono/zod-openapi';
import { listConfirmationTargets, rotateSigningSecret, setConfirmationTarget } from '../../db/confirmations';
import type { Db } from '../../db/client';
import { findMerchant, setMerchantDeadlines } from '../../db/merchants';
import { toIso } from '../../db/orders';
import type { ConfirmationTargetRow, MerchantRow } from '../../db/schema';
import { parseDuration } from '../../domain/dates';
import { requireAdmin } from '../auth';
import { notFound } from '../errors';
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

export const Duration = z.string().refine((v) => (parseDuration(v) ?? 0) > 0, { message: 'a duration such as 30m, 4h or 3d' });
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

/** Sets pickup or push for the merchant or one source; a new push target's signing secret comes back once. */
export async function setTarget(db: Db, merchantId: string, body: z.infer<typeof TargetBody>) {
  await existingMerchant(db, merchantId);
  return setConfirmationTarget(db, { merchantId, source: body.source ?? null, mode: body.mode, webhookUrl: body.webhookUrl ?? null });
}

/** A new signing secret (shown once) for the merchant's target of that source (null: its default). */
export async function newSigningSecret(db: Db, merchantId: string, source: string | null): Promise<string> {
  const secret = await rotateSigningSecret(db, merchantId, source);
  if (!secret) throw notFound(`merchant ${merchantId} has no confirmation target for ${source === null ? 'all sources' : `source ${source}`}`);
  return secret;
}

/** Replaces the merchant's deadline overrides (unset keys: the service defaults). */
export async function setDeadlines(db: Db, merchantId: string, deadlines: z.infer<typeof DeadlinesBody>): Promise<void> {
  await existingMerchant(db, merchantId);
  await setMerchantDeadlines(db, merchantId, deadlines);
}

const view = (t: ConfirmationTargetRow) => ({
  source: t.source === '' ? null : t.source,
  mode: t.mode,
  webhookUrl: t.webhookUrl,
  secretRotatedAt: t.secretRotatedAt ? toIso(t.secretRotatedAt) : null,
  updatedAt: toIso(t.updatedAt),
});

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
      const { target, newSecret } = await setTarget(db, c.req.valid('param').id, c.req.valid('json'));
      return c.json({ ...view(target), ...(newSecret ? { signingSecret: newSecret } : {}) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...admin,
      method: 'post',
      path: '/merchants/{id}/confirmation-targets/rotate-secret',
      summary: 'New webhook signing secret (shown once); the old one stops signing at once',
      request: { params: MerchantParam, body: { content: { 'application/json': { schema: RotateSecretBody } }, required: true } },
      responses: { 200: json(z.object({ signingSecret: z.string() }), 'New secret'), ...errorResponses },
    }),
    async (c) => {
      const secret = await newSigningSecret(db, c.req.valid('param').id, c.req.valid('json').source ?? null);
      return c.json({ signingSecret: secret }, 200);
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
