/** Health checks for load balancers and orchestrators, and the Prometheus metrics. Unauthenticated. */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { pingDatabase } from '../../db/client';
import { pingTemporal } from '../../temporal/connection';
import type { RouteServices } from '../services';
import { json, newRouter } from './common';

const ReadinessSchema = z.object({ status: z.string(), database: z.string(), temporal: z.string() });

/** 'ok' when the probe answers within `ms`, else 'unreachable'. */
async function probeStatus(probe: () => Promise<unknown>, ms: number): Promise<'ok' | 'unreachable'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([probe(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms)))]);
    return 'ok';
  } catch {
    return 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(services: RouteServices) {
  const { db, temporal, metrics, stopping } = services;
  const app = newRouter();

  app.openapi(
    createRoute({ method: 'get', path: '/healthz', tags: ['health'], summary: 'The process is alive', responses: { 200: json(z.object({ status: z.literal('ok') }), 'Alive') } }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['health'],
      summary: 'Ready while the database is reachable; Temporal\'s state is reported, not required',
      description:
        'ShipStation\'s calls and order reads need only the database (facts are stored and forwarded to Temporal once it answers), so an API process stays in rotation while Temporal is down; `temporal` says whether it answers now.',
      responses: {
        200: json(ReadinessSchema, 'Ready'),
        503: json(ReadinessSchema, 'Not ready'),
      },
    }),
    async (c) => {
      const [database, temporalStatus] = await Promise.all([
        probeStatus(() => pingDatabase(db), 3000),
        probeStatus(() => pingTemporal(temporal, Date.now() + 1000), 1000),
      ]);
      const isStopping = stopping();
      const ready = database === 'ok' && !isStopping;
      return c.json({ status: isStopping ? 'stopping' : ready ? 'ready' : 'not_ready', database, temporal: temporalStatus }, ready ? 200 : 503);
    },
  );

  // Prometheus text format; not in the OpenAPI document (it is for scrapers, not API clients). With
  // METRICS_PORT it is served there instead (api/server.ts), off the port the internet reaches.
  if (services.metricsRoute) app.get('/metrics', metricsHandler(metrics));
  return app;
}

export const metricsHandler = (metrics: RouteServices['metrics']) => async (c: Context) => c.body(await metrics.render(), 200, { 'Content-Type': metrics.contentType });
