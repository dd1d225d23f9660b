/**
 * Shipnotify under concurrency, at each count of senders in `options.senders` (50 and 200): the
 * senders post realistic ShipNotices (the body and query the simulator's `ship()` builds), every call
 * timed; any answer other than 200 is an error. The first round goes to distinct `at_wms` orders and
 * also measures how long each notice takes to make its order `shipped` (stored, forwarded by the fact
 * relay, recorded by the workflow, projected); later rounds send the same notices again, as
 * ShipStation repeats itself (the answer path is the same: a notice is stored whatever it repeats).
 *
 * The floor, in the same run with the same notices and senders: the same HTTP stack with Basic auth
 * and the credential lookup, answering after one INSERT of the notice row
 * (bench/floor/notice-server.ts, a process of its own like the API).
 *
 * Target (issue 13): p99 at most 1.5x the floor at 50 senders, zero errors.
 */
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/client';
import { createMerchant, createOrders, exportAll, simulatorFor, waitForStatus } from '../api';
import { cpuBetween, ratio, summarize, type LatencySummary } from '../stats';
import type { ReportRow, Scenario } from '../types';
import { ShipStationSimulator, type NoticeResult } from '../../test/support/shipstation-simulator';

/** Notices sent first and not counted: JIT, connection pools, prepared statements. */
const WARMUP = 20;
const TARGET_P99_RATIO = 1.5;
const KEEP_ERRORS = 5;

interface Burst {
  latencies: number[];
  /** When each call was sent (epoch ms), by index. */
  sentAt: number[];
  wallMs: number;
  errors: number;
  firstErrors: string[];
}

/**
 * Runs `send(i)` for every i in [from, from + count) with `senders` callers at once, timing each
 * call. A call that throws or answers something other than 200 is an error (counted, the first few
 * messages kept); its latency is still recorded.
 */
async function burst(from: number, count: number, senders: number, send: (i: number) => Promise<{ status: number; text: string }>): Promise<Burst> {
  const latencies: number[] = [];
  const sentAt: number[] = [];
  const firstErrors: string[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    for (let k = next++; k < count; k = next++) {
      const t0 = performance.now();
      sentAt[k] = Date.now();
      let problem: string | null = null;
      try {
        const answer = await send(from + k);
        if (answer.status !== 200) problem = `HTTP ${answer.status}: ${answer.text.trim().slice(0, 200)}`;
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
      }
      latencies.push(performance.now() - t0);
      if (problem) {
        errors++;
        if (firstErrors.length < KEEP_ERRORS) firstErrors.push(problem);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(senders, count) }, lane));
  return { latencies, sentAt, wallMs: performance.now() - started, errors, firstErrors };
}

const round = (n: number, places = 1) => Math.round(n * 10 ** places) / 10 ** places;
/** CPU milliseconds per notice by process, e.g. "api 2.8, temporal 1.9, ...". */
const perNotice = (cpu: Record<string, number>, notices: number) =>
  Object.entries(cpu)
    .map(([name, seconds]) => `${name} ${round((seconds * 1000) / notices, 1)}`)
    .join(', ');

interface Round {
  senders: number;
  ours: { summary: LatencySummary; burst: Burst; cpu: Record<string, number> };
  floor: { summary: LatencySummary; burst: Burst; cpu: Record<string, number> };
}

export const shipnotifyScenario: Scenario = async ({ stack, options, log }) => {
  const notices = options.notices;
  const total = notices + WARMUP;

  // ---- setup: paid orders, served to ShipStation --------------------------------------------------
  const merchant = await createMerchant(stack, 'shipnotify');
  log(`creating ${total} paid orders (${notices} measured + ${WARMUP} warm-up), ${options.concurrency} at once`);
  let t0 = performance.now();
  const { numbers } = await createOrders(stack, merchant, total, { prefix: 'SN', paid: true, concurrency: options.concurrency });
  await waitForStatus(stack, merchant.id, 'pending', total, 120_000);
  const createSeconds = (performance.now() - t0) / 1000;
  log(`created in ${createSeconds.toFixed(1)} s; exporting them to the simulator`);
  t0 = performance.now();
  const simulator = simulatorFor(merchant);
  const poll = await exportAll(simulator);
  if (poll.orders.length < total) throw new Error(`the export served ${poll.orders.length} orders, expected ${total}`);
  await waitForStatus(stack, merchant.id, 'at_wms', total, 120_000);
  const exportSeconds = (performance.now() - t0) / 1000;
  log(`${poll.orders.length} orders at_wms after ${exportSeconds.toFixed(1)} s (${poll.pages.length} pages)`);

  // The notices, built beforehand exactly as ship() sends them (so only the HTTP call is timed):
  // a recorder stands in for the network while ship() runs.
  const recorder = new ShipStationSimulator({ ...simulator.config, fetch: () => new Response('OK', { status: 200 }) });
  for (const [id, order] of simulator.store) recorder.store.set(id, order);
  const requests: NoticeResult['request'][] = [];
  for (const [i, orderNumber] of numbers.entries()) {
    // Distinct, well-formed tracking numbers (ship() draws random ones; collisions would be duplicates).
    const tracking = `9400${String(i + 1).padStart(18, '0')}`;
    requests.push((await recorder.ship(orderNumber, { tracking })).request);
  }
  const bodyBytes = Buffer.byteLength(String(requests[WARMUP]!.init.body ?? ''));
  const postTo = (base: string | null) => async (i: number) => {
    const { url, init } = requests[i]!;
    const target = base ? `${base}/shipstation${new URL(url).search}` : url;
    const response = await fetch(target, init);
    return { status: response.status, text: await response.text() };
  };
  const ours = postTo(null);

  const floorServer = await stack.startNoticeFloor();
  const floor = postTo(floorServer.url);
  const rounds: Round[] = [];
  let toShipped: LatencySummary | null = null;
  let recordedAllMs = 0;
  try {
    for (const [r, senders] of options.senders.entries()) {
      if (r === 0) {
        const warmFloor = await burst(0, WARMUP, senders, floor);
        if (warmFloor.errors) throw new Error(`floor warm-up failed: ${warmFloor.firstErrors[0]}`);
        const warm = await burst(0, WARMUP, senders, ours);
        if (warm.errors) log(`shipnotify warm-up: ${warm.errors} errors, first: ${warm.firstErrors[0]}`);
        // Both measured on a quiet stack: the warm-up's facts are recorded before the floor runs.
        await waitForStatus(stack, merchant.id, 'shipped', WARMUP, 60_000);
      }
      log(`floor: ${notices} notices (${bodyBytes} bytes each), ${senders} senders at once`);
      let cpuBefore = stack.cpuSeconds();
      const floorBurst = await burst(WARMUP, notices, senders, floor);
      const floorCpu = cpuBetween(cpuBefore, stack.cpuSeconds());
      log(`shipnotify: ${notices} notices, ${senders} senders at once${r === 0 ? ' (each to its own at_wms order)' : ' (the same notices again)'}`);
      cpuBefore = stack.cpuSeconds();
      const started = performance.now();
      const oursBurst = await burst(WARMUP, notices, senders, ours);
      const oursCpu = cpuBetween(cpuBefore, stack.cpuSeconds());
      const result: Round = {
        senders,
        ours: { summary: summarize(oursBurst.latencies), burst: oursBurst, cpu: oursCpu },
        floor: { summary: summarize(floorBurst.latencies), burst: floorBurst, cpu: floorCpu },
      };
      rounds.push(result);
      log(`  ours:  p50 ${result.ours.summary.p50Ms} ms, p99 ${result.ours.summary.p99Ms} ms, max ${result.ours.summary.maxMs} ms, ${oursBurst.errors} errors`);
      log(`  floor: p50 ${result.floor.summary.p50Ms} ms, p99 ${result.floor.summary.p99Ms} ms, max ${result.floor.summary.maxMs} ms, ${floorBurst.errors} errors`);
      if (oursBurst.errors) log(`  first errors: ${oursBurst.firstErrors.join(' | ')}`);
      if (r === 0) {
        log('waiting until every order is shipped in the read model');
        await waitForStatus(stack, merchant.id, 'shipped', total, 120_000);
        recordedAllMs = performance.now() - started;
        toShipped = await noticeToShipped(numbers.slice(WARMUP), oursBurst.sentAt);
        log(`notice -> shipped: p50 ${toShipped.p50Ms} ms, p99 ${toShipped.p99Ms} ms; all ${notices} shipped ${round(recordedAllMs / 1000, 2)} s after the first notice`);
      }
    }
  } finally {
    await floorServer.stop();
  }

  /** From each notice's sending to the moment its order became `shipped` (the workflow's clock, stored as status_since). */
  async function noticeToShipped(orderNumbers: string[], sentAt: number[]): Promise<LatencySummary> {
    const result = await stack.database.db.execute(sql`
      select order_number, status_since from orders where merchant_id = ${merchant.id} and status = 'shipped'`);
    const rows = rowsOf<{ order_number: string; status_since: string | Date }>(result);
    const shippedAt = new Map(rows.map((row) => [row.order_number, new Date(row.status_since).getTime()]));
    return summarize(orderNumbers.map((n, k) => Math.max(0, (shippedAt.get(n) ?? Number.NaN) - sentAt[k]!)).filter(Number.isFinite));
  }

  const throughput = (b: Burst) => round(notices / (b.wallMs / 1000), 0);
  const rows: ReportRow[] = rounds.flatMap(({ senders, ours: o, floor: f }, r): ReportRow[] => [
    { figure: `shipnotify p50 (${senders} senders)`, ours: o.summary.p50Ms, floor: f.summary.p50Ms, ratio: ratio(o.summary.p50Ms, f.summary.p50Ms), unit: 'ms', met: null },
    {
      figure: `shipnotify p99 (${senders} senders)`,
      ours: o.summary.p99Ms,
      floor: f.summary.p99Ms,
      ratio: ratio(o.summary.p99Ms, f.summary.p99Ms),
      unit: 'ms',
      ...(r === 0 ? { target: `<= ${TARGET_P99_RATIO}x floor`, met: o.summary.p99Ms <= TARGET_P99_RATIO * f.summary.p99Ms } : { met: null }),
    },
    { figure: `shipnotify max (${senders} senders)`, ours: o.summary.maxMs, floor: f.summary.maxMs, ratio: ratio(o.summary.maxMs, f.summary.maxMs), unit: 'ms', met: null },
    { figure: `shipnotify errors, non-200 (${senders} senders)`, ours: o.burst.errors, floor: f.burst.errors, target: '0', met: o.burst.errors === 0 },
    { figure: `shipnotify throughput (${senders} senders)`, ours: throughput(o.burst), floor: throughput(f.burst), ratio: ratio(o.burst.wallMs, f.burst.wallMs), unit: '/s', met: null },
    { figure: `CPU per notice (${senders} senders)`, ours: perNotice(o.cpu, notices), floor: perNotice(f.cpu, notices), unit: 'ms', met: null },
  ]);
  if (toShipped) {
    rows.push(
      { figure: 'notice -> order shipped p50 / p99', ours: `${toShipped.p50Ms} / ${toShipped.p99Ms}`, unit: 'ms', met: null },
      { figure: `${notices} notices: first sent -> all shipped`, ours: round(recordedAllMs / 1000, 2), unit: 's', met: null },
    );
  }

  const first = rounds[0]!;
  return {
    scenario: 'shipnotify',
    figures: {
      parameters: { notices, senders: options.senders, warmup: WARMUP, noticeBytes: bodyBytes, db: stack.kind },
      setup: { createSeconds: round(createSeconds, 2), exportSeconds: round(exportSeconds, 2), exportPages: poll.pages.length },
      rounds: rounds.map(({ senders, ours: o, floor: f }) => ({
        senders,
        ours: { latency: o.summary, errors: o.burst.errors, firstErrors: o.burst.firstErrors, throughputPerSecond: throughput(o.burst), cpuSeconds: o.cpu },
        floor: { latency: f.summary, errors: f.burst.errors, firstErrors: f.burst.firstErrors, throughputPerSecond: throughput(f.burst), cpuSeconds: f.cpu },
      })),
      noticeToShipped: toShipped,
      allShippedSeconds: round(recordedAllMs / 1000, 3),
      floor: 'bench/floor/notice-server.ts: Hono on Node, Basic credentials looked up and checked as the API does, one INSERT of the notice row, 200',
      target: { p99RatioAt50: TARGET_P99_RATIO, errors: 0, met: first.ours.summary.p99Ms <= TARGET_P99_RATIO * first.floor.summary.p99Ms && rounds.every((x) => x.ours.burst.errors === 0) },
    },
    rows,
  };
};
