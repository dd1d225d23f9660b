/**
 * Typed references to the service's workflows: a workflow type is named by its function in
 * workflows/index.ts (a rename there fails to compile here), and handles carry the workflow's
 * signature, so arguments and results are checked.
 */
import type * as workflows from '../workflows';

export type WorkflowType = keyof typeof workflows;
export type OrderWorkflow = typeof workflows.orderWorkflow;
export type BulkRetryWorkflow = typeof workflows.bulkRetryWorkflow;

/** The name the worker registers a workflow function under. */
export const workflowType = <T extends WorkflowType>(name: T): T => name;
