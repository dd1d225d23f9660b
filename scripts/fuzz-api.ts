/**
 * `npm run fuzz:api [-- --examples N --seed S]`: schemathesis against the JSON API's /openapi.json on a
 * real stack of its own (a Temporal dev server, a fresh PostgreSQL database, the worker and the API run
 * from source as their entry points run them), one schemathesis run per route group with that group's
 * credentials. Exits non-zero when schemathesis finds a failure.
 *
 * Checks: no 5xx (not_a_server_error), every status documented (status_code_conformance), the
 * documented content type (content_type_conformance) and body schema (response_schema_conformance).
 * test/api-schemathesis.test.ts runs `runSchemathesis` at a small size against the suite's own stack.
 *
 * Reports: per group, schemathesis's output (group-N.log) and JUnit report in the work folder, kept
 * with FUZZ_KEEP_LOGS=1.
 *
 * Knobs: FUZZ_API_EXAMPLES (or --examples; default 25 here) examples per operation and phase,
 * FUZZ_API_SEED (or --seed), TEST_DATABASE_URL (a PostgreSQL server where a database is created),
 * SCHEMATHESIS_PATH (a schemathesis 4.x binary to use).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { openDatabase } from '../db/client';
import { migrateDatabase } from '../db/migrate';
import { freePort, startDevServer } from '../tooling/temporal-cli';
import { PROJECT_ROOT } from '../tooling/project-root';
import { startProcess, Teardown, type RunningProcess } from '../test/support/processes';
import { createScratchDatabase } from '../test/support/scratch-database';
import { ORDER_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

export const SCHEMATHESIS_LOCAL = path.join(PROJECT_ROOT, '.tools', 'schemathesis', 'bin', 'schemathesis');
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance'];

/** One schemathesis run: the operations it covers and the credentials they take. */
export interface RouteGroup {
  name: string;
  /** Matched against the OpenAPI paths (`/api/orders/{orderNumber}`). */
  pathRegex: string;
  /** Bearer token sent with every request; null for public routes. */
  token: string | null;
}

/** The merchant routes run before the admin ones: the admin group may rotate keys and delete what it finds. */
export function routeGroups(adminToken: string, merchantKey: string): RouteGroup[] {
  return [
    { name: 'health (no credentials)', pathRegex: '^/(healthz|readyz)$', token: null },
    { name: 'orders and shipments (merchant API key)', pathRegex: '^/api/(orders|shipments)', token: merchantKey },
    { name: 'admin and ops (admin token)', pathRegex: '^/api/(admin|ops)/', token: adminToken },
  ];
}

/** The schemathesis binary: SCHEMATHESIS_PATH, the project's .tools/, or a 4.x one on PATH; null when there is none. */
export function findSchemathesis(env: Record<string, string | undefined> = process.env): string | null {
  const candidates = [env.SCHEMATHESIS_PATH?.trim(), SCHEMATHESIS_LOCAL, 'schemathesis'].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    if (candidate !== 'schemathesis' && !existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    // The flags used below are those of 4.x.
    if (version.status === 0 && /version 4\./.test(version.stdout)) return candidate;
  }
  return null;
}

export interface SchemathesisOptions {
  binary: string;
  /** Where the API answers, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  groups: RouteGroup[];
  /** Examples per operation (schemathesis --max-examples). */
  maxExamples: number;
  seed?: number;
  /** Reports (JUnit per group), the raw output and the generated schemathesis.toml go here. */
  reportDir: string;
  /**
   * Path parameter values that exist (FuzzData.pathValues): drawn half of the time instead of a
   * generated value, so operations reach real records and their 200 answers are checked too.
   */
  pathValues?: Record<string, string[]>;
}

export interface GroupResult {
  group: string;
  /** Exit code of schemathesis: 0 = no failures. */
  exitCode: number | null;
  /** API operations tested (one JUnit test case each). */
  operations: number;
  /** Test cases (requests) schemathesis generated and sent, from its summary. */
  cases: number;
  /** Operations that failed a check or errored, each with schemathesis's own words (from the JUnit report). */
  failures: string[];
  seconds: number;
  /** The end of schemathesis's output (its summary), for the log. */
  summary: string;
}

/** Runs schemathesis once per group, one after the other (asynchronously: the API may share this process). */
export async function runSchemathesis(options: SchemathesisOptions): Promise<GroupResult[]> {
  const results: GroupResult[] = [];
  const configFile = path.join(options.reportDir, 'schemathesis.toml');
  writeFileSync(configFile, schemathesisConfig(options.pathValues ?? {}));
  for (const [index, group] of options.groups.entries()) {
    const junit = path.join(options.reportDir, `group-${index + 1}.junit.xml`);
    const args = [
      // Explicit, so no schemathesis.toml found above the working directory is read instead.
      '--config-file',
      configFile,
      'run',
      `${options.baseUrl}/openapi.json`,
      '--url',
      options.baseUrl,
      '--checks',
      CHECKS.join(','),
      '--include-path-regex',
      group.pathRegex,
      '--max-examples',
      String(options.maxExamples),
      '--phases',
      'examples,coverage,fuzzing',
      '--workers',
      '1',
      '--request-timeout',
      '60',
      '--generation-database',
      'none',
      '--suppress-health-check',
      'all',
      '--report',
      'junit',
      '--report-junit-path',
      junit,
      '--no-color',
      '--output-truncate',
      'true',
      ...(options.seed !== undefined ? ['--seed', String(options.seed)] : []),
      ...(group.token ? ['--header', `Authorization: Bearer ${group.token}`] : []),
    ];
    const started = performance.now();
    // Run in the report folder: schemathesis keeps a crash cache (.schemathesis/) where it runs.
    const { exitCode, output } = await runCommand(options.binary, args, options.reportDir);
    writeFileSync(path.join(options.reportDir, `group-${index + 1}.log`), output);
    const report = existsSync(junit) ? readJunit(readFileSync(junit, 'utf8')) : { operations: 0, failures: [] };
    // A non-zero exit without a failure in the report (a schema that does not load, a crash) fails too.
    const failures = report.failures.length || exitCode === 0 ? report.failures : [`schemathesis exited with ${exitCode}:\n${output.slice(-3000)}`];
    const cases = Number(/(\d+) generated/.exec(output)?.[1] ?? 0);
    results.push({ group: group.name, exitCode, operations: report.operations, cases, failures, seconds: (performance.now() - started) / 1000, summary: output.slice(-1500) });
  }
  return results;
}

/** A schemathesis.toml binding each named path parameter to a dictionary of existing values. */
export function schemathesisConfig(pathValues: Record<string, string[]>): string {
  const lines: string[] = ['# Written by scripts/fuzz-api.ts for one run.'];
  const bindings: string[] = [];
  for (const [name, values] of Object.entries(pathValues)) {
    if (values.length === 0) continue;
    lines.push(`[dictionaries.${name}]`, `values = ${JSON.stringify(values)}`);
    bindings.push(`${JSON.stringify(`path.${name}`)} = { dictionary = ${JSON.stringify(name)}, probability = 0.5 }`);
  }
  if (bindings.length) lines.push('[parameters]', ...bindings);
  return `${lines.join('\n')}\n`;
}

function runCommand(binary: string, args: string[], cwd: string): Promise<{ exitCode: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd, env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ exitCode: code, output }));
  });
}

/**
 * What schemathesis's JUnit report says: one test case per operation and, per failed one, its name and
 * message. Pure string work: the report is small and flat.
 */
export function readJunit(xml: string): { operations: number; failures: string[] } {
  const failures: string[] = [];
  let operations = 0;
  for (const match of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    operations++;
    const name = /\bname="([^"]*)"/.exec(match[1] ?? '')?.[1] ?? '(unnamed)';
    const inner = match[2] ?? '';
    for (const problem of inner.matchAll(/<(failure|error)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/g)) {
      const message = /\bmessage="([^"]*)"/.exec(problem[2] ?? '')?.[1] ?? '';
      failures.push(`${decodeEntities(name)}: ${problem[1]}: ${decodeEntities(`${message}\n${problem[3] ?? ''}`).trim()}`);
    }
  }
  return { operations, failures };
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export interface FuzzData {
  /** The API key of the merchant whose routes are fuzzed. */
  merchantKey: string;
  /** Values of path parameters that name existing records, by parameter name. */
  pathValues: Record<string, string[]>;
}

/**
 * Records for the fuzzed operations to find, made through the API as a client would: a merchant with
 * two orders (one paid), a connection and one shipment reported over the ShipStation endpoint (the
 * merchant routes' data), and a second merchant with a connection for the admin routes to rotate,
 * disable and delete.
 */
export async function seedFuzzData(baseUrl: string, adminToken: string): Promise<FuzzData> {
  const request = async (method: string, url: string, token: string | null, body?: unknown, expected = [200, 201]) => {
    const res = await fetch(`${baseUrl}${url}`, {
      method,
      headers: { ...(token ? { Authorization: token } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!expected.includes(res.status)) throw new Error(`seeding: ${method} ${url} answered ${res.status}: ${text.slice(0, 500)}`);
    return text.startsWith('{') ? (JSON.parse(text) as Record<string, any>) : {};
  };
  const admin = `Bearer ${adminToken}`;
  const { apiKey } = await request('POST', '/api/admin/merchants', admin, { id: 'schemathesis', name: 'Schemathesis merchant' });
  await request('POST', '/api/admin/merchants', admin, { id: 'schemathesis-admin', name: 'Schemathesis admin playground' });
  const order = (orderNumber: string, paid: boolean) => ({
    orderNumber,
    orderDate: '2026-11-25T10:00:00Z',
    paid,
    shipTo: { name: 'Ada Lovelace', street1: '1 Main St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
    lines: [{ lineId: 'L1', sku: 'MUG-1', name: 'Mug', quantity: 2, unitPrice: '9.50' }],
  });
  await request('POST', '/api/orders', `Bearer ${apiKey}`, order('FUZZ-1', true));
  await request('POST', '/api/orders', `Bearer ${apiKey}`, order('FUZZ-2', false));
  const own = await request('POST', '/api/admin/merchants/schemathesis/connections', admin);
  const playground = await request('POST', '/api/admin/merchants/schemathesis-admin/connections', admin);
  const basic = `Basic ${Buffer.from(`${own.username}:${own.password}`).toString('base64')}`;
  await request('POST', '/shipstation?action=shipnotify&order_number=FUZZ-1&carrier=UPS&tracking_number=1ZFUZZ0001', basic);
  // The shipment reaches the read model once its signal is applied.
  let shipmentId: string | undefined;
  for (let waited = 0; !shipmentId && waited < 30_000; waited += 250) {
    shipmentId = (await request('GET', '/api/shipments', `Bearer ${apiKey}`)).shipments?.[0]?.id;
    if (!shipmentId) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (!shipmentId) throw new Error('seeding: the shipment never reached the read model');
  return {
    merchantKey: apiKey as string,
    pathValues: {
      orderNumber: ['FUZZ-1', 'FUZZ-2'],
      merchant: ['schemathesis'],
      // `id` is a merchant in the admin routes and a shipment in the merchant and ops routes.
      id: ['schemathesis-admin', shipmentId],
      username: [playground.username as string],
    },
  };
}

export function formatResults(results: GroupResult[]): string {
  return results
    .map((r) => `${r.group}: ${r.operations} operations, ${r.cases} test cases in ${r.seconds.toFixed(1)} s, ${r.failures.length ? `${r.failures.length} FAILED` : 'no failures'} (exit ${r.exitCode})`)
    .join('\n');
}

// ---- the stand-alone runner: a stack of its own ---------------------------------------------------------

interface FuzzStack {
  baseUrl: string;
  adminToken: string;
  stop(): Promise<void>;
}

async function startStack(workDir: string): Promise<FuzzStack> {
  const teardown = new Teardown();
  const stop = () => teardown.run();
  try {
    const temporal = await startDevServer({ port: await freePort(), namespace: 'default', searchAttributes: ORDER_SEARCH_ATTRIBUTES, logFile: path.join(workDir, 'temporal.log') });
    teardown.add(() => temporal.stop());

    // The worker and the API are two processes, so the database is PostgreSQL (PGlite is single-process).
    const adminUrl = process.env.TEST_DATABASE_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/postgres';
    const databaseUrl = await createScratchDatabase(adminUrl, 'ssw_fuzz', teardown);
    const database = await openDatabase({ url: databaseUrl });
    await migrateDatabase(database);
    await database.close();

    const port = await freePort();
    const adminToken = `fuzz-${randomBytes(16).toString('hex')}`;
    const env = {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: 'orders-fuzz',
      DATABASE_URL: databaseUrl,
      ADMIN_TOKEN: adminToken,
      SECRET_DIGEST_KEY: randomBytes(32).toString('hex'),
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: 'warn',
      WORKER_METRICS_PORT: '0',
    };
    const children: RunningProcess[] = [];
    teardown.add(async () => {
      for (const child of children) child.child.kill('SIGTERM');
      await Promise.all(children.map((c) => c.exit));
    });
    const fromSource = (file: string) => [process.execPath, '--import', 'tsx', path.join(PROJECT_ROOT, file)];
    const worker = startProcess(fromSource('worker.ts'), { ...env, LOG_LEVEL: 'info' }, { outputFile: path.join(workDir, 'worker.log') });
    children.push(worker);
    await worker.waitForOutput('worker running', 180_000);
    const api = startProcess(fromSource('api/server.ts'), { ...env, LOG_LEVEL: 'info' }, { outputFile: path.join(workDir, 'api.log') });
    children.push(api);
    await api.waitForOutput('API listening', 60_000);
    return { baseUrl: `http://127.0.0.1:${port}`, adminToken, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function option(argv: string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  const binary = findSchemathesis();
  if (!binary) {
    console.error('schemathesis 4.x is not installed: run `bash scripts/install-schemathesis.sh` (needs Python 3), or set SCHEMATHESIS_PATH');
    return 2;
  }
  const maxExamples = Number(option(argv, '--examples') ?? process.env.FUZZ_API_EXAMPLES ?? 25);
  const seedText = option(argv, '--seed') ?? process.env.FUZZ_API_SEED;
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'ssw-fuzz-api-'));
  console.log(`starting a stack (Temporal dev server, PostgreSQL database, worker, API); logs in ${workDir}`);
  const stack = await startStack(workDir);
  try {
    const data = await seedFuzzData(stack.baseUrl, stack.adminToken);
    console.log(`running schemathesis (${binary}), ${maxExamples} examples per operation`);
    const results = await runSchemathesis({
      binary,
      baseUrl: stack.baseUrl,
      groups: routeGroups(stack.adminToken, data.merchantKey),
      pathValues: data.pathValues,
      maxExamples,
      ...(seedText ? { seed: Number(seedText) } : {}),
      reportDir: workDir,
    });
    for (const r of results) if (r.failures.length) console.log(`\n--- ${r.group} ---\n${r.failures.join('\n\n')}`);
    console.log(`\n${formatResults(results)}`);
    return results.some((r) => r.failures.length > 0) ? 1 : 0;
  } finally {
    await stack.stop();
    if (!process.env.FUZZ_KEEP_LOGS) rmSync(workDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`fuzz:api failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
