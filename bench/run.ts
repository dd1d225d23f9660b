/**
 * `make bench` / `npm run bench -- [--orders N] [--scenario lifecycle|export|shipnotify|memory]
 * [--db postgres|pglite] [--quick] [--out bench/results.json]`: builds, starts its own stack
 * (bench/stack.ts), runs the scenarios one after another, prints every figure beside its floor
 * (measured in the same run, on the same servers) and writes the figures with the machine's facts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { findTemporalCli } from '../tooling/temporal-cli';
import { PROJECT_ROOT } from '../tooling/project-root';
import { socketRetries } from './api';
import { exportScenario } from './scenarios/export';
import { lifecycleScenario } from './scenarios/lifecycle';
import { memoryScenario } from './scenarios/memory';
import { shipnotifyScenario } from './scenarios/shipnotify';
import { DEFAULT_ADMIN_URL, productionAllocator, startBenchStack, type DatabaseKind } from './stack';
import type { BenchOptions, ReportRow, Scenario, ScenarioResult } from './types';

const SCENARIOS: Record<string, Scenario> = {
  lifecycle: lifecycleScenario,
  export: exportScenario,
  shipnotify: shipnotifyScenario,
  memory: memoryScenario,
};

const USAGE = `usage: npm run bench -- [--orders N] [--scenario ${Object.keys(SCENARIOS).join('|')}] (repeatable) [--db postgres|pglite] [--quick] [--out FILE]`;

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      orders: { type: 'string' },
      scenario: { type: 'string', multiple: true },
      db: { type: 'string', default: 'postgres' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: path.join(PROJECT_ROOT, 'bench', 'results.json') },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const scenarios = values.scenario ?? Object.keys(SCENARIOS);
  for (const name of scenarios) if (!SCENARIOS[name]) throw new Error(`unknown scenario "${name}"\n${USAGE}`);
  if (values.db !== 'postgres' && values.db !== 'pglite') throw new Error(`--db must be postgres or pglite\n${USAGE}`);
  const quick = values.quick!;
  const orders = values.orders !== undefined ? Number(values.orders) : quick ? 60 : 2000;
  if (!Number.isInteger(orders) || orders < 1) throw new Error(`--orders must be a positive integer\n${USAGE}`);
  const options: BenchOptions = {
    orders,
    exportSizes: quick ? [1_000] : [1_000, 10_000, 100_000],
    notices: quick ? 100 : 500,
    senders: [50, 200],
    openOrders: quick ? 200 : 10_000,
    concurrency: 16,
    quick,
  };
  return { scenarios, db: values.db as DatabaseKind, out: values.out!, options };
}

function machineFacts(db: DatabaseKind) {
  const cli = findTemporalCli();
  const version = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { encoding: 'utf8' }).trim().split('\n')[0];
    } catch {
      return null;
    }
  };
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    temporalCli: cli ? version(cli, ['--version']) : null,
    postgres: db === 'postgres' ? version('psql', ['--version']) : null,
    database: db,
    allocator: db === 'postgres' ? productionAllocator().name : 'the bench process (PGlite runs the worker and API in it)',
  };
}

function printTable(results: ScenarioResult[]) {
  const rows: (ReportRow & { scenario: string })[] = results.flatMap((r) => r.rows.map((row) => ({ ...row, scenario: r.scenario })));
  const cells = rows.map((r) => [
    r.scenario,
    r.figure,
    `${r.ours}${r.unit ? ` ${r.unit}` : ''}`,
    r.floor === undefined ? '' : `${r.floor}${r.unit ? ` ${r.unit}` : ''}`,
    r.ratio === undefined ? '' : `${r.ratio}x`,
    r.target ?? '',
    r.met === undefined || r.met === null ? '' : r.met ? 'met' : 'MISSED',
  ]);
  const header = ['scenario', 'figure', 'ours', 'floor', 'ours/floor', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${cells.map(line).join('\n')}\n`);
}

async function main() {
  const { scenarios, db, out, options } = parse(process.argv.slice(2));
  const started = Date.now();
  const log = (message: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);
  log('building (npm run build)');
  const build = spawnSync('npm', ['run', 'build'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  log(`starting the stack (${db})`);
  const stack = await startBenchStack({ db, adminUrl: process.env.BENCH_DATABASE_URL?.trim() || process.env.TEST_DATABASE_URL?.trim() || DEFAULT_ADMIN_URL });
  const results: ScenarioResult[] = [];
  try {
    for (const name of scenarios) {
      log(`scenario ${name}`);
      results.push(await SCENARIOS[name]!({ stack, options, log: (m) => log(`  ${name}: ${m}`) }));
    }
  } finally {
    const errors = stack.errors();
    if (errors.length) console.error(`the stack logged ${errors.length} errors; first: ${errors[0]}`);
    await stack.stop();
  }
  printTable(results);
  if (socketRetries.count) console.log(`${socketRetries.count} requests were sent again after a keep-alive connection closed under them`);
  const report = {
    at: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    parameters: { ...options, scenarios, db },
    machine: machineFacts(db),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    socketRetries: socketRetries.count,
    results,
  };
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), out)}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
