/** What every scenario gets and gives back. */
import type { BenchStack } from './stack';

export interface BenchOptions {
  /** Orders in the lifecycle scenario. */
  orders: number;
  /** Read-model sizes for the export scenario. */
  exportSizes: number[];
  /** Notices in the shipnotify scenario, and how many senders at once (one round per count). */
  notices: number;
  senders: number[];
  /** Open order workflows for the worker-memory figure. */
  openOrders: number;
  /** Requests in flight at once when the bench drives the API. */
  concurrency: number;
  quick: boolean;
}

export interface ScenarioContext {
  stack: BenchStack;
  options: BenchOptions;
  log: (message: string) => void;
}

/** One line of the printed table: our figure beside its floor, and the target when there is one. */
export interface ReportRow {
  figure: string;
  ours: number | string;
  floor?: number | string;
  /** ours / floor (or floor / ours for throughput: always "how many times the floor's cost"). */
  ratio?: number;
  unit?: string;
  target?: string;
  /** null = no target for this figure. */
  met?: boolean | null;
}

export interface ScenarioResult {
  scenario: string;
  /** Everything measured, for results.json (parameters included). */
  figures: Record<string, unknown>;
  rows: ReportRow[];
}

export type Scenario = (context: ScenarioContext) => Promise<ScenarioResult>;
