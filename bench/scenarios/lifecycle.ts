/**
 * Lifecycle throughput: N orders created through the API, exported by the ShipStation simulator
 * walking pages, one shipnotify each, confirmations picked up and acked, until all are confirmed.
 * Orders/s end to end and per stage, Temporal history events and state transitions per order, and
 * the floor: Temporal alone running a minimal workflow with the same messages and as many no-op
 * activities per order, driven with the same concurrency, on the same dev server.
 */
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { orderWorkflowId } from '../../domain/order';
import { createMerchant, createOrders, exportAll, request, simulatorFor, waitForStatus, type BenchMerchant } from '../api';
import { startFloorWorker } from '../floor/worker';
import { factFloorSignal, registerFloorUpdate, type floorOrderWorkflow, type FloorPlan } from '../floor/workflows';
import { cpuBetween, memoryOf, ratio, runConcurrently, summarize } from '../stats';
import type { BenchStack } from '../stack';
import type { ReportRow, Scenario } from '../types';

/** The history of a sample of orders: events, activities per message kind, state transitions. */
async function historyShape(client: Client, workflowIds: string[]) {
  let events = 0;
  let activities = 0;
  let localActivities = 0;
  let transitions = 0;
  let transitionsReported = 0;
  for (const id of workflowIds) {
    const handle = client.workflow.getHandle(id);
    const history = await handle.fetchHistory();
    events += history.events?.length ?? 0;
    activities += history.events?.filter((e) => e.activityTaskScheduledEventAttributes).length ?? 0;
    localActivities += history.events?.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length ?? 0;
    const count = Number((await handle.describe()).raw.workflowExecutionInfo?.stateTransitionCount ?? 0);
    if (count > 0) {
      transitions += count;
      transitionsReported++;
    }
  }
  const n = workflowIds.length;
  return {
    eventsPerOrder: Math.round((events / n) * 10) / 10,
    activitiesPerOrder: Math.round((activities / n) * 10) / 10,
    localActivitiesPerOrder: Math.round((localActivities / n) * 10) / 10,
    stateTransitionsPerOrder: transitionsReported ? Math.round((transitions / transitionsReported) * 10) / 10 : null,
  };
}

const describeCpu = (cpu: Record<string, number>) => Object.entries(cpu).map(([name, s]) => `${name} ${s}`).join(', ');

/** CPU milliseconds per order, per part of the stack, summed over stages. */
function cpuPerOrder(stages: Record<string, number>[], orders: number): Record<string, number> {
  const total: Record<string, number> = {};
  for (const stage of stages) for (const [name, s] of Object.entries(stage)) total[name] = (total[name] ?? 0) + s;
  return Object.fromEntries(Object.entries(total).map(([name, s]) => [name, Math.round((s * 1000 * 10) / orders) / 10]));
}

interface StageTimes {
  create: number;
  export: number;
  shipnotify: number;
  confirm: number;
}

async function runOurs(stack: BenchStack, merchant: BenchMerchant, orders: number, concurrency: number, log: (m: string) => void) {
  const seconds: Partial<StageTimes> = {};
  const cpu: Partial<Record<keyof StageTimes, Record<string, number>>> = {};
  const stage = async (name: keyof StageTimes, work: () => Promise<unknown>) => {
    const started = performance.now();
    const cpuBefore = stack.cpuSeconds();
    await work();
    seconds[name] = (performance.now() - started) / 1000;
    cpu[name] = cpuBetween(cpuBefore, stack.cpuSeconds());
    log(`${name}: ${orders} orders in ${seconds[name]!.toFixed(1)} s (${(orders / seconds[name]!).toFixed(1)}/s); CPU s ${describeCpu(cpu[name]!)}`);
  };
  const timeout = Math.max(120_000, orders * 200);
  let createLatencies: number[] = [];
  const simulator = simulatorFor(merchant);
  let numbers: string[] = [];

  await stage('create', async () => {
    const created = await createOrders(stack, merchant, orders, { prefix: 'L', concurrency });
    numbers = created.numbers;
    createLatencies = created.durations;
  });
  await stage('export', async () => {
    const poll = await exportAll(simulator);
    if (poll.imported.length !== orders) throw new Error(`the export walk imported ${poll.imported.length} of ${orders} orders`);
    await waitForStatus(stack, merchant.id, 'at_wms', orders, timeout);
  });
  let noticeErrors = 0;
  await stage('shipnotify', async () => {
    await runConcurrently(orders, concurrency, async (i) => {
      const result = await simulator.ship(numbers[i]!);
      if (result.status !== 200) noticeErrors++;
    });
    await waitForStatus(stack, merchant.id, 'shipped', orders, timeout);
  });
  if (noticeErrors) throw new Error(`${noticeErrors} shipnotify calls failed`);
  await stage('confirm', async () => {
    // Pickup as an order source does it: read the next page after its cursor, ack each, move on.
    // (Re-reading "unacked" would see acks whose projection is still on its way and ack them twice.)
    let cursor = '0';
    for (;;) {
      const page = await request(stack, 'GET', `/api/shipments?after=${cursor}&limit=500`, { token: merchant.apiKey });
      const ids: string[] = page.body.shipments.map((s: { id: string }) => s.id);
      if (ids.length === 0) break;
      await runConcurrently(ids.length, concurrency, async (i) => {
        await request(stack, 'POST', `/api/shipments/${ids[i]}/ack`, { token: merchant.apiKey });
      });
      cursor = page.body.nextCursor;
    }
    await waitForStatus(stack, merchant.id, 'confirmed', orders, timeout);
  });
  return { seconds: seconds as StageTimes, cpu: cpu as Record<keyof StageTimes, Record<string, number>>, numbers, createLatencies, exportPages: simulator.calls.filter((c) => c.action === 'export').length };
}

/**
 * The floor, stage by stage like ours: register (update-with-start, waiting for the update as our
 * API waits for the order's first projection), then one signal per later message, until every floor
 * workflow has run its last activity and completed.
 */
async function runFloor(stack: BenchStack, orders: number, concurrency: number, plan: FloorPlan, log: (m: string) => void) {
  const floor = await startFloorWorker(stack);
  const client = stack.temporal;
  const ids = Array.from({ length: orders }, (_, i) => `floor-${Date.now().toString(36)}-${i}`);
  try {
    const started = performance.now();
    const cpuBefore = stack.cpuSeconds();
    await runConcurrently(orders, concurrency, async (i) => {
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof floorOrderWorkflow>('floorOrderWorkflow', {
        workflowId: ids[i]!,
        taskQueue: floor.taskQueue,
        args: [plan],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      await client.workflow.executeUpdateWithStart(registerFloorUpdate, { startWorkflowOperation });
    });
    for (let message = 1; message < plan.activitiesPerMessage.length; message++) {
      await runConcurrently(orders, concurrency, async (i) => {
        await client.workflow.getHandle(ids[i]!).signal(factFloorSignal, `message-${message}`);
      });
    }
    await runConcurrently(orders, concurrency, async (i) => {
      await client.workflow.getHandle(ids[i]!).result();
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuBetween(cpuBefore, stack.cpuSeconds());
    log(`floor: ${orders} workflows in ${seconds.toFixed(1)} s (${(orders / seconds).toFixed(1)}/s); CPU s ${describeCpu(cpu)}`);
    return { seconds, cpu, sample: await historyShape(client, ids.slice(0, 10)) };
  } finally {
    await floor.stop();
  }
}

/**
 * Our activities per order, of each kind, over the four messages (register, exported, shipped,
 * confirmed): local ones (projections) spread from the first message, regular ones (the confirmation
 * delivery) from the third, where ours runs it.
 */
function floorPlanFor(local: number, regular: number): FloorPlan {
  const plan: FloorPlan = { activitiesPerMessage: [0, 1, 2, 3].map(() => ({ local: 0, regular: 0 })) };
  for (let i = 0; i < Math.round(local); i++) plan.activitiesPerMessage[i % 4]!.local++;
  for (let i = 0; i < Math.round(regular); i++) plan.activitiesPerMessage[(2 + i) % 4]!.regular++;
  return plan;
}

export const lifecycleScenario: Scenario = async ({ stack, options, log }) => {
  const merchant = await createMerchant(stack, 'life');
  const ours = await runOurs(stack, merchant, options.orders, options.concurrency, log);
  const total = ours.seconds.create + ours.seconds.export + ours.seconds.shipnotify + ours.seconds.confirm;
  const sampleIds = ours.numbers.slice(0, 20).map((n) => orderWorkflowId(merchant.id, n));
  const shape = await historyShape(stack.temporal, sampleIds);
  const memory = Object.fromEntries(Object.entries(stack.processes).map(([name, pid]) => [name, memoryOf(pid)]));
  log(`history: ${shape.eventsPerOrder} events, ${shape.localActivitiesPerOrder} local and ${shape.activitiesPerOrder} regular activities per order`);

  const plan = floorPlanFor(shape.localActivitiesPerOrder, shape.activitiesPerOrder);
  const floor = await runFloor(stack, options.orders, options.concurrency, plan, log);

  const oursRate = options.orders / total;
  const floorRate = options.orders / floor.seconds;
  const share = Math.round((oursRate / floorRate) * 100);
  const rate = (seconds: number) => Math.round((options.orders / seconds) * 10) / 10;
  const oursCpu = cpuPerOrder(Object.values(ours.cpu), options.orders);
  const floorCpu = cpuPerOrder([floor.cpu], options.orders);
  const cpuRows: ReportRow[] = Object.entries(oursCpu).map(([name, ms]) => ({
    figure: `CPU per order: ${name}`,
    ours: ms,
    floor: floorCpu[name] ?? '-',
    ...(floorCpu[name] ? { ratio: ratio(ms, floorCpu[name]!) } : {}),
    unit: 'ms',
  }));
  const rows: ReportRow[] = [
    { figure: `end to end, ${options.orders} orders`, ours: rate(total), floor: rate(floor.seconds), ratio: ratio(floor.seconds, total), unit: 'orders/s', target: '>= 60% of floor', met: share >= 60 },
    { figure: 'stage create (POST /api/orders)', ours: rate(ours.seconds.create), unit: 'orders/s' },
    { figure: 'stage export (walk + marked at_wms)', ours: rate(ours.seconds.export), unit: 'orders/s' },
    { figure: 'stage shipnotify (until shipped)', ours: rate(ours.seconds.shipnotify), unit: 'orders/s' },
    { figure: 'stage confirm (pickup + ack)', ours: rate(ours.seconds.confirm), unit: 'orders/s' },
    { figure: 'create latency p50 / p99', ours: `${summarize(ours.createLatencies).p50Ms} / ${summarize(ours.createLatencies).p99Ms}`, unit: 'ms' },
    { figure: 'history events per order', ours: shape.eventsPerOrder, floor: floor.sample.eventsPerOrder, ratio: ratio(shape.eventsPerOrder, floor.sample.eventsPerOrder) },
    { figure: 'activities per order: local / regular', ours: `${shape.localActivitiesPerOrder} / ${shape.activitiesPerOrder}`, floor: `${floor.sample.localActivitiesPerOrder} / ${floor.sample.activitiesPerOrder}` },
    ...(shape.stateTransitionsPerOrder !== null
      ? [{ figure: 'state transitions per order', ours: shape.stateTransitionsPerOrder, floor: floor.sample.stateTransitionsPerOrder ?? '-' } as ReportRow]
      : []),
    ...cpuRows,
    ...Object.entries(memory).map(([name, m]) => ({ figure: `peak RSS ${name} (start to end of lifecycle)`, ours: m.peakRssMiB, unit: 'MiB' }) as ReportRow),
  ];
  return {
    scenario: 'lifecycle',
    figures: {
      orders: options.orders,
      concurrency: options.concurrency,
      stageSeconds: ours.seconds,
      totalSeconds: total,
      ordersPerSecond: oursRate,
      floorSeconds: floor.seconds,
      floorOrdersPerSecond: floorRate,
      percentOfFloor: share,
      createLatency: summarize(ours.createLatencies),
      exportPages: ours.exportPages,
      history: shape,
      floorHistory: floor.sample,
      cpuSecondsByStage: ours.cpu,
      cpuMsPerOrder: oursCpu,
      floorCpuMsPerOrder: floorCpu,
      floorPlan: plan,
      memory,
    },
    rows,
  };
};
