/**
 * The order workflow's link to the read model: it projects each new version of the order (one at a
 * time, the newest wins, unchanged lines and shipments are not rewritten) and, for a reopened order,
 * loads the state the read model kept.
 */
import { proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { OrderActivities } from '../activities';
import type { ConfirmationMode } from '../activities/confirmations';
import type { DeadlineOverrides } from '../domain/lifecycle';
import type { OrderState } from '../domain/order';

// The read model may be down for a while; keep trying, visibly, rather than lose a change.
const RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' } as const;
const regular = proxyActivities<OrderActivities>({ startToCloseTimeout: '30 seconds', retry: RETRY });
/**
 * Projections of changes made by signals (export marks, shipments, confirmations) run as local
 * activities: in the worker, inside the workflow task that made the change, with no activity task to
 * schedule, dispatch and report back (docs/performance.md). A long outage backs off on timers.
 */
const local = proxyLocalActivities<OrderActivities>({ startToCloseTimeout: '30 seconds', retry: RETRY });

export interface Projected {
  lastModified: string;
  /** How the order's source takes confirmations, when shipments await theirs. */
  confirmationMode?: ConfirmationMode;
}

export class ReadModel {
  /** Lines and shipments as this run last projected them (JSON); a new run writes them in full once. */
  private lines: string | undefined;
  private shipments: string | undefined;

  /** @param projectedVersion the version the read model holds (versions keep rising across runs). */
  constructor(private projectedVersion: number) {}

  /** The version the read model holds. */
  get version(): number {
    return this.projectedVersion;
  }

  /**
   * Writes `version` of the order. A local activity keeps the workflow task open until it is done,
   * and with it the acceptance of any update in that task: a caller waiting for acceptance could time
   * out and be told "nothing changed" although it did. So while an update waits for its change, a
   * regular activity projects (the task, and the acceptance, complete first); otherwise a local one.
   */
  async project(state: OrderState, version: number, updateWaiting: boolean): Promise<Projected> {
    const lines = JSON.stringify([state.content.lines, state.shipped]);
    const shipments = JSON.stringify(state.shipments);
    const unchanged = { lines: lines === this.lines, shipments: shipments === this.shipments };
    const args = [{ state, version, workflowId: workflowInfo().workflowId, unchanged }] as const;
    const options = { startToCloseTimeout: '30 seconds', summary: `project ${state.status} v${version}` } as const;
    const projected = updateWaiting ? await regular.projectOrder.executeWithOptions(options, [...args]) : await local.projectOrder.executeWithOptions(options, [...args]);
    this.lines = lines;
    this.shipments = shipments;
    this.projectedVersion = version;
    return projected;
  }

  /** The order as the read model kept it, for a reopened run; null when it is not there. */
  async load(orderId: string): Promise<{ state: OrderState; version: number; deadlines: DeadlineOverrides } | null> {
    const loaded = await regular.loadOrderState.executeWithOptions({ startToCloseTimeout: '30 seconds', summary: 'reopen: load the order from the read model' }, [orderId]);
    if (loaded) this.projectedVersion = loaded.version;
    return loaded;
  }
}
