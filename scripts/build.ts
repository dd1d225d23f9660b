/**
 * `npm run build`: the production build in dist/, run with plain `node` (no tsx, no webpack at start):
 *
 *   dist/api.js      the API server            dist/worker.js   the Temporal worker
 *   dist/migrate.js  `db:migrate`              dist/ops.js      the ops CLI
 *   dist/workflow-bundle.js   the workflows, prebundled for the worker's sandbox
 *   dist/migrations/          the SQL migrations dist/migrate.js applies
 *
 * Every entry point sits directly in dist/ so paths a module resolves from its own location
 * (`./migrations`, `./workflow-bundle.js`) mean the same in every bundle. Packages stay external:
 * the image installs them with `npm ci --omit=dev`.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { build } from 'esbuild';
import { MIGRATIONS_FOLDER } from '../db/migrate';
import { PROJECT_ROOT } from '../tooling/project-root';
import { WORKFLOW_BUNDLE_OPTIONS } from '../worker';

const DIST = path.join(PROJECT_ROOT, 'dist');

/** Output name -> source entry point. The names are what README, Dockerfile and compose run. */
const ENTRY_POINTS = {
  api: 'api/server.ts',
  worker: 'worker.ts',
  migrate: 'db/migrate-cli.ts',
  ops: 'scripts/ops.ts',
} as const;

async function main() {
  const started = Date.now();
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(DIST, { recursive: true });
  await Promise.all([
    build({
      absWorkingDir: PROJECT_ROOT,
      entryPoints: Object.fromEntries(Object.entries(ENTRY_POINTS)),
      outdir: DIST,
      bundle: true,
      packages: 'external',
      platform: 'node',
      target: 'node20',
      format: 'esm',
      sourcemap: true,
      logLevel: 'warning',
    }),
    bundleWorkflowCode(WORKFLOW_BUNDLE_OPTIONS).then(({ code }) => writeFileSync(path.join(DIST, 'workflow-bundle.js'), code)),
  ]);
  cpSync(MIGRATIONS_FOLDER, path.join(DIST, 'migrations'), { recursive: true });
  console.log(`built dist/ (${Object.keys(ENTRY_POINTS).map((name) => `${name}.js`).join(', ')}, workflow-bundle.js, migrations/) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

await main();
