/** Finding the Temporal CLI and registering search attributes on a server that lacks them. */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { msToTs } from '@temporalio/common/lib/time';
import { ensureSearchAttributes } from '../temporal/connection';
import { findTemporalCli, LOCAL_CLI_PATH } from '../tooling/temporal-cli';
import { ORDER_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

describe('findTemporalCli', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-'));
  const fake = path.join(dir, 'temporal');
  writeFileSync(fake, '#!/bin/sh\n');
  chmodSync(fake, 0o755);

  it('prefers TEMPORAL_CLI_PATH, then PATH', () => {
    expect(findTemporalCli({ TEMPORAL_CLI_PATH: fake, PATH: '' })).toBe(fake);
    expect(findTemporalCli({ PATH: `/nonexistent${path.delimiter}${dir}` })).toBe(fake);
  });

  it('refuses a TEMPORAL_CLI_PATH that is not executable', () => {
    expect(() => findTemporalCli({ TEMPORAL_CLI_PATH: path.join(dir, 'missing') })).toThrow(/TEMPORAL_CLI_PATH/);
  });

  it('falls back to the project-local install, else to none (the SDK download)', () => {
    const found = findTemporalCli({ PATH: '' });
    expect(found === LOCAL_CLI_PATH || found === null).toBe(true);
  });
});

describe('ensureSearchAttributes', () => {
  let connection: Connection;
  const namespace = `ns-${Date.now().toString(36)}`;
  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(86_400_000) });
  });
  afterAll(() => connection?.close());

  it('registers every order search attribute on a namespace without them, once', async () => {
    const client = new Client({ connection, namespace });
    let added: string[] = [];
    // A new namespace takes a moment to be usable on the dev server.
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        added = await ensureSearchAttributes(client);
        break;
      } catch (error) {
        if (attempt === 49) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(added.sort()).toEqual(ORDER_SEARCH_ATTRIBUTES.map((k) => k.name).sort());
    expect(await ensureSearchAttributes(client)).toEqual([]);
  });
});
