/**
 * Ops bulk retries as durable workflows (workflows/maintenance.ts): starting one, and reading its
 * report. Each run gets an id naming when it started and what it selected, so ops can follow it.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { BulkRetryFilter, BulkRetryReport } from '../activities/bulk-retry';
import { isCallTimeout } from './errors';
import { workflowType, type BulkRetryWorkflow } from './workflow-refs';

/** Every single call's deadline: ops calls must not hang while Temporal is away. */
const CALL_MS = 10_000;
/** How long starting a bulk retry waits for its report before answering "still running". */
const WAIT_FOR_REPORT_MS = 20_000;
const ID_PREFIX = 'bulk-retry:';

export type BulkRetryStatus = { workflowId: string; status: 'running' } | ({ workflowId: string } & BulkRetryReport);

export class BulkRetries {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** Starts a bulk retry; most finish in seconds and answer their report, a long one answers 'running'. */
  async start(filter: BulkRetryFilter, summary: string): Promise<BulkRetryStatus> {
    const digest = createHash('sha256').update(JSON.stringify(filter)).digest('hex').slice(0, 10);
    const workflowId = `${ID_PREFIX}${new Date().toISOString()}:${digest}`;
    const handle = await this.client.withDeadline(Date.now() + CALL_MS, () =>
      this.client.workflow.start<BulkRetryWorkflow>(workflowType('bulkRetryWorkflow'), { workflowId, taskQueue: this.taskQueue, args: [filter], staticSummary: summary }),
    );
    const report = await this.client.withDeadline(Date.now() + WAIT_FOR_REPORT_MS, () => handle.result()).catch((error: unknown) => {
      if (isCallTimeout(error)) return null;
      throw error;
    });
    return report ? { workflowId, ...report } : { workflowId, status: 'running' };
  }

  /** A bulk retry's report, or that it is still running; null when there is no such run. */
  async status(workflowId: string): Promise<BulkRetryStatus | null> {
    if (!workflowId.startsWith(ID_PREFIX)) return null;
    const handle = this.client.workflow.getHandle<BulkRetryWorkflow>(workflowId);
    const description = await this.client.withDeadline(Date.now() + CALL_MS, () => handle.describe()).catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    });
    if (!description) return null;
    if (description.status.name === 'RUNNING') return { workflowId, status: 'running' };
    return { workflowId, ...(await this.client.withDeadline(Date.now() + CALL_MS, () => handle.result())) };
  }
}
