// The workflow bundle's entry point: every workflow type the worker registers.
export { orderWorkflow } from './order';
export { exportPageWorkflow } from './export-page';
export { orderFactsWorkflow } from './order-facts';
export { bulkRetryWorkflow, purgePersonalDataWorkflow, purgeRequestLogWorkflow } from './maintenance';
