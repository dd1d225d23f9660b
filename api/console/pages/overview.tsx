import { Hono } from 'hono';
import type { RouteServices } from '../../services';
import type { ConsoleEnv } from '../guard';

export function overviewPages(_services: RouteServices) {
  return new Hono<ConsoleEnv>();
}
