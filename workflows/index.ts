// The workflow bundle's entry point: every workflow type the worker registers.
export { orderWorkflow } from './order';
export { exportPageWorkflow } from './export-page';
export { bulkRetryWorkflow, purgePersonalDataWorkflow, purgeRequestLogWorkflow } from './maintenance';
