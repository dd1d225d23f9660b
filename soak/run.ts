/**
 * `make soak` / `npm run soak -- [--orders N] [--quick] [--seed S] [--out FILE] [--keep-logs DIR]`:
 * the whole lifecycle for N orders - created through the API (a fifth unpaid, paid later), exported
 * by the ShipStation simulator walking pages, one shipnotify each, confirmations pushed to a webhook
 * receiver - on two API processes and two workers, while a fault injector SIGKILLs and restarts, at
 * random moments, a worker, an API process, a private PostgreSQL, or the Temporal dev server
 * (persisted to its file) for an outage of 10-60 s. Then it checks from the database, the workflows
 * and the receiver that nothing was lost or recorded twice (soak/checks.ts), prints faults per kind,
 * orders and violations, writes the figures to --out, and exits 1 on any violation.
 *
 * ShipStation never resends a refused notice; a person does, by hand. So the simulated ShipStation
 * resends a notice only when the API process it called or PostgreSQL was down at the time (it knows
 * the fault timeline): a notice answered non-2xx while both were up counts as lost.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { orderPayload } from '../bench/api';
import { orderWorkflowId } from '../domain/order';
import { PROJECT_ROOT } from '../tooling/project-root';
import { ShipStationSimulator, type PreparedNotice } from '../test/support/shipstation-simulator';
import { startWebhookReceiver, type WebhookReceiver } from '../test/support/webhook-receiver';
import { stateQuery } from '../workflows/messages';
import { findViolations, type SoakFacts } from './checks';
import { FAULT_KINDS, kindOf, SERVICE_NAMES, startSoakStack, type FaultKind, type ServiceName, type SoakStack } from './stack';

const USAGE = 'usage: npm run soak -- [--orders N] [--quick] [--seed S] [--out FILE] [--keep-logs DIR]';

interface SoakOptions {
  orders: number;
  /** Orders are created over about this long, so faults land while every stage is busy. */
  loadSeconds: number;
  /** Gap between two faults, and how long a killed part stays down, in ms (Temporal: an outage of its own). */
  faultGapMs: [number, number];
  downtimeMs: [number, number];
  temporalOutageMs: [number, number];
  /** After the load, how long everything may take to reach confirmed. */
  settleSeconds: number;
  /** Share of confirmation deliveries the receiver refuses with 500 (the worker must retry). */
  receiverFailureRate: number;
  seed: number;
}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      orders: { type: 'string' },
      quick: { type: 'boolean', default: false },
      seed: { type: 'string' },
      out: { type: 'string' },
      'keep-logs': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick!;
  const orders = values.orders !== undefined ? Number(values.orders) : quick ? 40 : 400;
  if (!Number.isInteger(orders) || orders < 1) throw new Error(`--orders must be a positive integer\n${USAGE}`);
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer\n${USAGE}`);
  const options: SoakOptions = {
    orders,
    loadSeconds: quick ? 30 : Math.max(60, orders / 3),
    faultGapMs: quick ? [2_000, 5_000] : [4_000, 12_000],
    downtimeMs: [200, 3_000],
    temporalOutageMs: quick ? [10_000, 15_000] : [10_000, 60_000],
    settleSeconds: quick ? 180 : 300,
    receiverFailureRate: 0.05,
    seed,
  };
  return { options, out: values.out ?? null, keepLogs: values['keep-logs'] ?? undefined };
}

/** A small seeded generator, so a run's choices (which order is unpaid, fault order and timing) can be replayed with --seed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    between: ([low, high]: [number, number]) => low + Math.floor(next() * (high - low)),
    shuffle: <T>(items: readonly T[]): T[] => {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const log = (message: string) => console.log(`[${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s] ${message}`);

/** fetch that never hangs on a killed peer and never throws: a network failure is status 0. */
async function call(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    return { status: 0, text: (error as Error).message };
  }
}

/** Sends until one of `done` comes back, as any client of a crashing service must. */
async function until(what: string, attempt: () => Promise<{ status: number; text: string }>, done: (status: number) => boolean, stopAt: number) {
  for (let tries = 1; ; tries++) {
    const answer = await attempt();
    if (done(answer.status)) return answer;
    if (answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429) throw new Error(`${what}: refused with ${answer.status}: ${answer.text.slice(0, 300)}`);
    if (Date.now() > stopAt) throw new Error(`${what}: still failing at the deadline (${answer.status} ${answer.text.slice(0, 200)})`);
    await sleep(Math.min(2_000, 200 * tries));
  }
}

interface Merchant {
  id: string;
  apiKey: string;
  connection: { url: string; username: string; password: string };
}

/** Each call to the next API process in turn, as a load balancer in front of them would. */
function balancer(stack: SoakStack) {
  let turn = 0;
  return {
    next: () => turn++ % stack.apiUrls.length,
    /** `url` sent to API process `index` instead of the one it names. */
    to: (index: number, url: string) => {
      const target = new URL(url);
      const api = new URL(stack.apiUrls[index]!);
      target.host = api.host;
      return target.toString();
    },
  };
}

async function setUpMerchant(stack: SoakStack, receiver: WebhookReceiver, stopAt: number): Promise<Merchant> {
  const lb = balancer(stack);
  const admin = (method: string, path: string, body?: unknown) =>
    call(`${stack.apiUrls[lb.next()]}/api/admin${path}`, {
      method,
      headers: { Authorization: `Bearer ${stack.adminToken}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  const id = `soak-${Date.now().toString(36)}`;
  const merchant = await until('create the merchant', () => admin('POST', '/merchants', { id, name: 'Soak merchant' }), (s) => s === 201, stopAt);
  const connection = await until('create the connection', () => admin('POST', `/merchants/${id}/connections`), (s) => s === 201, stopAt);
  await until('set push confirmations', () => admin('PUT', `/merchants/${id}/confirmation-targets`, { mode: 'push', webhookUrl: receiver.url }), (s) => s === 200, stopAt);
  return { id, apiKey: JSON.parse(merchant.text).apiKey, connection: JSON.parse(connection.text) };
}

/**
 * When each service was down: from its kill until it served again. A call that failed while the
 * process it reached, or the database, was down (or just after: `graceMs`, while pools reconnect) is
 * one ShipStation's operator would resend by hand; any other failed notice is lost.
 */
class FaultTimeline {
  private readonly intervals: { service: ServiceName; from: number; to: number | null }[] = [];

  down(service: ServiceName) {
    this.intervals.push({ service, from: Date.now(), to: null });
  }

  up(service: ServiceName) {
    const open = [...this.intervals].reverse().find((i) => i.service === service && i.to === null);
    if (open) open.to = Date.now();
  }

  wasDown(service: ServiceName, from: number, to: number, graceMs: number): boolean {
    return this.intervals.some((i) => i.service === service && i.from <= to && (i.to === null || i.to + graceMs >= from));
  }
}

/** After a restart, how long failures are still put down to it (pools reconnecting, caches warming). */
const GRACE_MS: Record<FaultKind, number> = { api: 1_000, postgres: 5_000, worker: 0, temporal: 0 };

/**
 * Kills one part at a time, in shuffled rounds so every service is hit equally often, while the load
 * runs and at least until every kind was hit once.
 */
async function injectFaults(stack: SoakStack, options: SoakOptions, rng: ReturnType<typeof random>, timeline: FaultTimeline, loadRunning: () => boolean, deadline: number) {
  const injected = Object.fromEntries(SERVICE_NAMES.map((name) => [name, 0])) as Record<ServiceName, number>;
  const kindHit = (kind: FaultKind) => SERVICE_NAMES.some((name) => kindOf(name) === kind && injected[name] > 0);
  const running = () => Date.now() < deadline && (loadRunning() || FAULT_KINDS.some((kind) => !kindHit(kind)));
  let round: ServiceName[] = [];
  while (running()) {
    await sleep(rng.between(options.faultGapMs));
    if (!running()) break;
    if (round.length === 0) round = rng.shuffle(SERVICE_NAMES);
    const name = round.shift()!;
    const service = stack.services[name];
    const downFor = rng.between(name === 'temporal' ? options.temporalOutageMs : options.downtimeMs);
    log(`fault: SIGKILL ${name}, down for ${downFor} ms`);
    timeline.down(name);
    await service.kill();
    injected[name]++;
    await sleep(downFor);
    for (let attempt = 1; ; attempt++) {
      try {
        await service.start();
        break;
      } catch (error) {
        if (attempt >= 5) throw new Error(`${name} did not come back: ${(error as Error).message}`);
        log(`${name} did not start (${(error as Error).message.split('\n')[0]}); again`);
        await sleep(1000);
      }
    }
    timeline.up(name);
  }
  return injected;
}

async function readDatabase(url: string, merchantId: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const orderRows = await sql<{ order_number: string; status: string }[]>`select order_number, status from orders where merchant_id = ${merchantId}`;
    const shipmentRows = await sql<{ order_number: string; id: string; tracking_number: string | null }[]>`
      select o.order_number, s.id, s.tracking_number from shipments s join orders o on o.order_id = s.order_id where o.merchant_id = ${merchantId}`;
    return {
      orderStatus: new Map(orderRows.map((r) => [r.order_number, r.status])),
      shipments: shipmentRows.map((r) => ({ orderNumber: r.order_number, shipmentId: Number(r.id), trackingNumber: r.tracking_number })),
    };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function readWorkflows(stack: SoakStack, merchantId: string, numbers: string[]) {
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection, namespace: stack.namespace });
  const states: SoakFacts['workflows'] = new Map();
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < numbers.length) {
          const number = numbers[next++]!;
          for (let attempt = 1; ; attempt++) {
            try {
              const state = await client.workflow.getHandle(orderWorkflowId(merchantId, number)).query(stateQuery);
              states.set(number, { status: state.status, shipments: state.shipments.length });
              break;
            } catch (error) {
              if (attempt >= 5) {
                states.set(number, { error: (error as Error).message });
                break;
              }
              await sleep(1000);
            }
          }
        }
      }),
    );
  } finally {
    await connection.close();
  }
  return states;
}

async function main() {
  const { options, out, keepLogs } = parse(process.argv.slice(2));
  const rng = random(options.seed);
  log(`soak: ${options.orders} orders, seed ${options.seed}; building (npm run build)`);
  const build = spawnSync('npm', ['run', 'build'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);

  log('starting the stack: private PostgreSQL, Temporal dev server (file), two workers, two API processes');
  const stack = await startSoakStack({ keepLogs });
  const receiver = await startWebhookReceiver(() => (rng.next() < options.receiverFailureRate ? { status: 500, body: 'try again' } : { status: 200, body: 'ok' }));
  // Past this the client stops sending and the checks say what never happened.
  // Ctrl-C tears the stack down (the private PostgreSQL and the dev server must not outlive the run).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping the stack`);
      void Promise.allSettled([receiver.close(), stack.stop()]).then(() => process.exit(130));
    });
  }
  const hardStop = Date.now() + (options.loadSeconds + options.settleSeconds) * 1000;
  try {
    const merchant = await setUpMerchant(stack, receiver, hardStop);
    const lb = balancer(stack);
    const simulator = new ShipStationSimulator({
      fetch: (url, init) => fetch(lb.to(lb.next(), url), { ...init, signal: AbortSignal.timeout(30_000) }),
      url: merchant.connection.url,
      username: merchant.connection.username,
      password: merchant.connection.password,
    });
    const api = (method: string, path: string, body?: unknown) =>
      call(`${stack.apiUrls[lb.next()]}/api/orders${path}`, {
        method,
        headers: { Authorization: `Bearer ${merchant.apiKey}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });

    const numbers = Array.from({ length: options.orders }, (_, i) => `S-${i + 1}`);
    const unpaid = new Set(numbers.filter(() => rng.next() < 0.2));
    const created: string[] = [];
    const paid = new Set<string>();
    const notices = new Map<string, PreparedNotice>();
    const accepted = new Map<string, string[]>();
    const counts = { createRetries: 0, failedPolls: 0, polls: 0, noticeRetries: 0, duplicateNotices: 0, payRetries: 0 };
    /** Notices answered non-2xx while the API process they reached and PostgreSQL were up: ShipStation would not resend them. */
    const lostNotices: string[] = [];
    let loadDone = false;
    const timeline = new FaultTimeline();

    log(`merchant ${merchant.id}; load and faults start`);
    const faults = injectFaults(stack, options, rng, timeline, () => !loadDone, hardStop);
    faults.catch(() => {}); // awaited below; marked handled so a failure cannot end the process early
    const gaveUp: string[] = [];
    const orGiveUp = (work: Promise<unknown>) =>
      work.then(
        () => undefined,
        (error: Error) => void gaveUp.push(error.message),
      );

    // Orders are created at an even pace over loadSeconds, each sent until the API takes it (the
    // same payload again is idempotent).
    const creating = (async () => {
      const gapMs = (options.loadSeconds * 1000) / options.orders;
      await Promise.all(
        numbers.map(async (number, i) => {
          await sleep(i * gapMs);
          // One payload per order, sent again byte for byte: a retry with another body is a different order (409).
          const payload = orderPayload(number, { paid: !unpaid.has(number) });
          await orGiveUp(
            until(`create ${number}`, async () => {
              const a = await api('POST', '', payload);
              if (![200, 201, 202].includes(a.status)) counts.createRetries++;
              return a;
            }, (s) => s === 200 || s === 201 || s === 202, hardStop).then(() => created.push(number)),
          );
        }),
      );
    })();

    const pay = async (number: string) => {
      await until(`pay ${number}`, async () => {
        const a = await api('POST', `/${encodeURIComponent(number)}/pay`);
        if (a.status === 409) {
          // Paid already by an attempt whose answer was lost: the order says so.
          const order = await api('GET', `/${encodeURIComponent(number)}`);
          if (order.status === 200 && JSON.parse(order.text).status !== 'await_payment') return { status: 200, text: '' };
        }
        if (a.status !== 200 && a.status !== 202) counts.payRetries++;
        return a.status === 409 ? { status: 503, text: a.text } : a;
      }, (s) => s === 200 || s === 202, hardStop);
    };

    // One distinct notice per order, to one API process; one in ten is sent once more after that
    // (ShipStation posting twice). Refused while its API process or PostgreSQL was down, it is sent
    // again (the operator's manual resend); refused otherwise, it is lost (counted, then resent so the
    // run can check everything else).
    const deliverTo = async (index: number, notice: PreparedNotice) => {
      const { url, init } = notice.request;
      return call(lb.to(index, url), init);
    };
    const ship = async (orderId: string, number: string) => {
      const notice = simulator.prepareNotice(orderId);
      notices.set(number, notice);
      await until(`ship ${number}`, async () => {
        const index = lb.next();
        const sentAt = Date.now();
        const answer = await deliverTo(index, notice);
        if (answer.status !== 200) {
          counts.noticeRetries++;
          const apiName = `api-${index + 1}` as ServiceName;
          const excused = timeline.wasDown(apiName, sentAt, Date.now(), GRACE_MS.api) || timeline.wasDown('postgres', sentAt, Date.now(), GRACE_MS.postgres);
          if (!excused) lostNotices.push(`${number} via ${apiName}: ${answer.status} ${answer.text.slice(0, 120)}`);
        }
        return answer;
      }, (s) => s === 200, hardStop);
      accepted.set(number, [notice.tracking]);
      if (rng.next() < 0.1) {
        counts.duplicateNotices++;
        await deliverTo(lb.next(), notice);
      }
    };

    // ShipStation's side: poll every second, ship what is Awaiting Shipment, pay what is unpaid.
    const inFlight = new Set<Promise<void>>();
    const handled = new Set<string>();
    while (accepted.size < options.orders && Date.now() < hardStop) {
      counts.polls++;
      let poll;
      try {
        poll = await simulator.poll(new Date(Date.now() + 60_000));
      } catch (error) {
        poll = { ok: false, error: (error as Error).message };
      }
      if (!poll.ok) counts.failedPolls++;
      for (const imported of simulator.store.values()) {
        const key = `${imported.orderNumber}:${imported.status}`;
        if (handled.has(key)) continue;
        if (imported.status === 'Awaiting Shipment' && !notices.has(imported.orderNumber)) {
          handled.add(key);
          const work: Promise<void> = orGiveUp(ship(imported.orderId, imported.orderNumber)).finally(() => inFlight.delete(work));
          inFlight.add(work);
        } else if (imported.status === 'Awaiting Payment' && unpaid.has(imported.orderNumber) && !paid.has(imported.orderNumber)) {
          handled.add(key);
          paid.add(imported.orderNumber);
          const work: Promise<void> = orGiveUp(pay(imported.orderNumber)).finally(() => inFlight.delete(work));
          inFlight.add(work);
        }
      }
      await sleep(1000);
    }
    await creating;
    await Promise.all(inFlight);
    loadDone = true;
    const injected = await faults;
    log(`load done: ${created.length} created, ${accepted.size} shipped; faults ${JSON.stringify(injected)}; settling`);
    for (const reason of gaveUp) log(`client gave up: ${reason}`);

    // Everything is up again; wait for every order to be confirmed and every shipment delivered.
    const settleBy = Date.now() + options.settleSeconds * 1000;
    let database = await readDatabase(stack.databaseUrl, merchant.id);
    for (;;) {
      const confirmed = [...database.orderStatus.values()].filter((s) => s === 'confirmed').length;
      const delivered = new Set(receiver.received.filter((r) => r.status === 200).map((r) => r.headers['idempotency-key']));
      if ((confirmed >= options.orders && delivered.size >= database.shipments.length) || Date.now() > settleBy) break;
      await sleep(2000);
      database = await readDatabase(stack.databaseUrl, merchant.id);
    }
    const workflows = await readWorkflows(stack, merchant.id, created);

    const facts: SoakFacts = {
      attempted: numbers,
      created,
      exported: new Set([...simulator.store.values()].map((o) => o.orderNumber)),
      notices: accepted,
      lostNotices,
      orderStatus: database.orderStatus,
      shipments: database.shipments,
      workflows,
      deliveries: receiver.received.map((r) => {
        let shipmentId: number | null = null;
        try {
          shipmentId = Number(JSON.parse(r.rawBody).confirmation.id) || null;
        } catch {
          shipmentId = null;
        }
        const key = r.headers['idempotency-key'];
        return { shipmentId, idempotencyKey: typeof key === 'string' ? key : null, status: r.status };
      }),
    };
    const violations = findViolations(facts);
    const restarts = Object.fromEntries(SERVICE_NAMES.map((name) => [name, stack.services[name].ownExits]));
    const faultsByKind = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, SERVICE_NAMES.filter((n) => kindOf(n) === kind).reduce((sum, n) => sum + injected[n], 0)]));
    const report = {
      seed: options.seed,
      orders: options.orders,
      unpaidAtCreation: unpaid.size,
      seconds: Math.round((Date.now() - started) / 1000),
      faults: faultsByKind,
      faultsByService: injected,
      restartsAfterOwnExit: restarts,
      ownExits: Object.fromEntries(SERVICE_NAMES.map((name) => [name, stack.services[name].ownExitNotes])),
      client: { ...counts, gaveUp },
      lostNotices: lostNotices.length,
      confirmed: [...database.orderStatus.values()].filter((s) => s === 'confirmed').length,
      shipments: database.shipments.length,
      deliveries: receiver.received.length,
      deliveriesRefusedByReceiver: receiver.received.filter((r) => r.status !== 200).length,
      violations,
    };
    console.log('');
    console.log(`faults injected (SIGKILL + restart): ${SERVICE_NAMES.map((k) => `${k} ${injected[k]}`).join(', ')}`);
    console.log(`notices lost (refused while their API process and PostgreSQL were up): ${lostNotices.length}`);
    console.log(`restarted after exiting on their own: ${SERVICE_NAMES.map((k) => `${k} ${restarts[k]}`).join(', ')}`);
    for (const name of SERVICE_NAMES) for (const note of stack.services[name].ownExitNotes) console.log(`  ${name} exited on its own at ${note}`);
    console.log(`orders: ${report.orders} created (${report.unpaidAtCreation} unpaid at first), ${report.confirmed} confirmed; shipments ${report.shipments}; deliveries ${report.deliveries} (${report.deliveriesRefusedByReceiver} refused by the receiver)`);
    console.log(`client retries: create ${counts.createRetries}, pay ${counts.payRetries}, notice ${counts.noticeRetries}; polls ${counts.polls} (${counts.failedPolls} failed); duplicate notices ${counts.duplicateNotices}`);
    console.log(`violations: ${violations.reduce((n, v) => n + v.count, 0)}`);
    for (const v of violations) console.log(`  ${v.kind}: ${v.count} (e.g. ${v.examples.join('; ')})`);
    console.log(`${report.seconds} s in all; seed ${options.seed}`);
    if (out) writeFileSync(out, JSON.stringify(report, null, 2));
    const missingKinds = FAULT_KINDS.filter((k) => faultsByKind[k] === 0);
    if (missingKinds.length) console.log(`note: no fault of kind ${missingKinds.join(', ')} was injected (the load ended first)`);
    process.exitCode = violations.length ? 1 : 0;
  } finally {
    await receiver.close();
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(`soak failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 2;
});
