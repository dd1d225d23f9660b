import { Hono } from 'hono';
import type { RouteServices } from '../../services';
import type { ConsoleEnv } from '../guard';

export function merchantPages(_services: RouteServices) {
  return new Hono<ConsoleEnv>();
}
