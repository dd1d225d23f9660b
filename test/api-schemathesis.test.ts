/**
 * schemathesis against the JSON API's /openapi.json (scripts/fuzz-api.ts), at a small size, on the
 * suite's real stack (shared Temporal dev server, a worker, PostgreSQL when reachable), the app served
 * over HTTP on 127.0.0.1: no 5xx, every status documented, with its documented content type and schema.
 *
 * `make test` installs schemathesis (scripts/install-schemathesis.sh). Without it the test fails in
 * CI and is skipped, with a warning, elsewhere. FUZZ_API_EXAMPLES sets the size (default 5 examples
 * per operation and phase); `npm run fuzz:api` runs it larger on a stack of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, describe, expect, it } from 'vitest';
import { closeServer } from '../api/server';
import { findSchemathesis, formatResults, routeGroups, runSchemathesis, seedFuzzData } from '../scripts/fuzz-api';
import { DATABASE_KINDS } from './support/database';
import { startTestStack, type TestStack } from './support/stack';

const ADMIN = 'admin-token-for-the-schemathesis-suite';
const EXAMPLES = Math.max(1, Number(process.env.FUZZ_API_EXAMPLES ?? 5));
const binary = findSchemathesis();

let stack: TestStack | undefined;
let server: ServerType | undefined;
const reportDir = mkdtempSync(path.join(os.tmpdir(), 'ssw-schemathesis-'));
afterAll(async () => {
  if (server) await closeServer(server, 2000);
  await stack?.close();
  rmSync(reportDir, { recursive: true, force: true });
});

describe('the JSON API under schemathesis', () => {
  if (!binary) {
    const message = 'schemathesis 4.x is not installed: run `make test-tools` or `bash scripts/install-schemathesis.sh` (needs Python 3 and PyPI), or set SCHEMATHESIS_PATH';
    if (process.env.CI) {
      it('schemathesis is installed', () => {
        throw new Error(message);
      });
    } else console.warn(`\n!! ${message}; test/api-schemathesis.test.ts is SKIPPED.\n`);
  }

  it.skipIf(!binary)(
    `finds no undocumented status, content type or body and no 5xx (${EXAMPLES} examples per operation)`,
    async () => {
      stack = await startTestStack({ db: DATABASE_KINDS.includes('postgres') ? 'postgres' : 'pglite' });
      const app = stack.app({ adminToken: ADMIN });
      const port = await new Promise<number>((resolve) => {
        server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => resolve(info.port));
      });
      const baseUrl = `http://127.0.0.1:${port}`;
      const data = await seedFuzzData(baseUrl, ADMIN);

      const results = await runSchemathesis({ binary: binary!, baseUrl, groups: routeGroups(ADMIN, data.merchantKey), pathValues: data.pathValues, maxExamples: EXAMPLES, seed: 1, reportDir });
      console.log(`schemathesis:\n${formatResults(results)}`);
      for (const result of results) {
        expect(result.operations, `${result.group}: schemathesis tested no operation\n${result.summary}`).toBeGreaterThan(0);
        expect(result.cases, `${result.group}: schemathesis sent no request\n${result.summary}`).toBeGreaterThan(0);
        expect(result.failures, `${result.group}:\n${result.failures.join('\n\n')}`).toEqual([]);
      }
    },
    900_000,
  );
});
