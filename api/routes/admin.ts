/** Admin API: merchants and their keys. Authenticated by ADMIN_TOKEN. */
import { createRoute, z } from '@hono/zod-openapi';
import type { Db } from '../../db/client';
import { createMerchant, MerchantExistsError, rotateMerchantKey } from '../../db/merchants';
import type { SecretDigest } from '../../db/secret-digest';
import { requireAdmin } from '../auth';
import { conflict, notFound } from '../errors';
import { text } from '../order-payload';
import type { RouteServices } from '../services';
import { errorResponses, json, newRouter } from './common';

export const MerchantId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,49}$/, { message: 'lowercase letters, digits, "-" and "_", at most 50, starting with a letter or digit' })
  .openapi({ example: 'acme' });

/** A new merchant, as the admin API and the ops console take it. */
export const NewMerchant = z.object({ id: MerchantId, name: text(200).min(1) }).strict();

/** Creates a merchant and its API key (shown once); an id in use is 409. */
export async function addMerchant(db: Db, digest: SecretDigest, input: z.infer<typeof NewMerchant>) {
  try {
    return await createMerchant(db, digest, input);
  } catch (error) {
    if (error instanceof MerchantExistsError) throw conflict(error.message);
    throw error;
  }
}

/** A new API key (shown once); the old one stops working at once. */
export async function newMerchantKey(db: Db, digest: SecretDigest, merchantId: string): Promise<string> {
  const apiKey = await rotateMerchantKey(db, digest, merchantId);
  if (!apiKey) throw notFound(`no merchant ${merchantId}`);
  return apiKey;
}

const CreatedMerchant = z
  .object({ id: z.string(), name: z.string(), apiKey: z.string().openapi({ description: 'Shown once; store it now' }) })
  .openapi('CreatedMerchant');

const createMerchantRoute = createRoute({
  method: 'post',
  path: '/merchants',
  tags: ['admin'],
  security: [{ adminToken: [] }],
  summary: 'Create a merchant and its API key (shown once)',
  request: { body: { content: { 'application/json': { schema: NewMerchant } }, required: true } },
  responses: { 201: json(CreatedMerchant, 'Created'), ...errorResponses },
});

const rotateKeyRoute = createRoute({
  method: 'post',
  path: '/merchants/{id}/rotate-key',
  tags: ['admin'],
  security: [{ adminToken: [] }],
  summary: 'Replace the merchant API key; the old one stops working at once',
  request: { params: z.object({ id: MerchantId }) },
  responses: { 200: json(z.object({ id: z.string(), apiKey: z.string() }), 'New key (shown once)'), ...errorResponses },
});

export function adminRoutes(services: RouteServices) {
  const { db, secretDigest } = services;
  const app = newRouter();
  app.use('*', requireAdmin(services));
  app.openapi(createMerchantRoute, async (c) => {
    const { merchant, apiKey } = await addMerchant(db, secretDigest, c.req.valid('json'));
    return c.json({ id: merchant.id, name: merchant.name, apiKey }, 201);
  });
  app.openapi(rotateKeyRoute, async (c) => {
    const { id } = c.req.valid('param');
    return c.json({ id, apiKey: await newMerchantKey(db, secretDigest, id) }, 200);
  });
  return app;
}
