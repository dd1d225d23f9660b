/** A throwaway PostgreSQL database for a stack started outside vitest (bench, API fuzz runner). */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { Teardown } from './processes';

/**
 * Creates an empty database with a random name on the server `adminUrl` points at and returns its
 * URL; the teardown drops it, closing whatever connections are still open to it.
 */
export async function createScratchDatabase(adminUrl: string, prefix: string, teardown: Teardown): Promise<string> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  await admin.unsafe(`create database ${name}`);
  teardown.add(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 5 });
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
