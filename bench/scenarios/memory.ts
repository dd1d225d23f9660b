/**
 * Memory: the worker's resident set with many open order workflows (unpaid orders wait in
 * await_payment for days, and closed ones stay open through their grace period, so a busy merchant
 * has thousands open at once), beside its size before this scenario in the same run. Orders left
 * open by earlier scenarios count; unpaid orders are created up to `openOrders`. Peak RSS during the
 * lifecycle is reported by that scenario.
 */
import { createMerchant, createOrdersThroughGateway, waitForStatus } from '../api';
import { memoryOf, ratio, summarize } from '../stats';
import type { ReportRow, Scenario } from '../types';

const GIB = 1024;

export const memoryScenario: Scenario = async ({ stack, options, log }) => {
  const workerName = Object.keys(stack.processes).find((name) => name.includes('worker'))!;
  const workerPid = stack.processes[workerName]!;
  const before = memoryOf(workerPid);
  const openQuery = `WorkflowType = 'orderWorkflow' AND ExecutionStatus = 'Running'`;
  const alreadyOpen = (await stack.temporal.workflow.count(openQuery)).count;
  const toCreate = Math.max(0, options.openOrders - alreadyOpen);
  const merchant = await createMerchant(stack, 'mem');
  const started = performance.now();
  // Through the gateway the API uses, without HTTP: this scenario measures memory, not the API.
  const { durations } = await createOrdersThroughGateway(stack, merchant, toCreate, { prefix: 'M', paid: false, concurrency: options.concurrency * 2 });
  await waitForStatus(stack, merchant.id, 'await_payment', toCreate, 120_000);
  const seconds = (performance.now() - started) / 1000;
  log(`${alreadyOpen} orders open from earlier scenarios, ${toCreate} unpaid orders created in ${seconds.toFixed(1)} s`);
  // Let the worker settle (cache eviction, GC) before reading its size.
  await new Promise((r) => setTimeout(r, 5_000));
  const after = memoryOf(workerPid);
  const open = await stack.temporal.workflow.count(openQuery);
  log(`worker RSS ${before.rssMiB} MiB idle -> ${after.rssMiB} MiB with ${open.count} open (peak ${after.peakRssMiB} MiB)`);
  const rows: ReportRow[] = [
    {
      figure: `${workerName} RSS with ${open.count} open order workflows`,
      ours: after.rssMiB,
      floor: before.rssMiB,
      // "floor" here = the same worker before this scenario's orders
      ratio: ratio(after.rssMiB, before.rssMiB),
      unit: 'MiB',
      target: '< 1 GiB',
      met: after.rssMiB < GIB,
    },
    { figure: `${workerName} peak RSS so far`, ours: after.peakRssMiB, unit: 'MiB', target: '< 1 GiB', met: after.peakRssMiB < GIB },
    ...(toCreate > 0 ? [{ figure: `${toCreate} unpaid orders created (gateway, no HTTP)`, ours: Math.round((toCreate / seconds) * 10) / 10, unit: 'orders/s' } as ReportRow] : []),
  ];
  return {
    scenario: 'memory',
    figures: {
      openOrders: open.count,
      openFromEarlierScenarios: alreadyOpen,
      created: toCreate,
      idle: before,
      withOpenOrders: after,
      createSeconds: seconds,
      createLatency: summarize(durations),
      note: 'floor = the same process idle, measured before the orders were created',
    },
    rows,
  };
};
