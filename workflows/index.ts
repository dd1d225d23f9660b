// The workflow bundle's entry point: every workflow type the worker registers.
export { orderWorkflow } from './order';
export { bulkRetryWorkflow, purgePersonalDataWorkflow, purgeRequestLogWorkflow } from './maintenance';
