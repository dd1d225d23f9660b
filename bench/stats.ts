/** Small, dependency-free measurement helpers for the benchmarks. */
import { readdirSync, readFileSync } from 'node:fs';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Nearest-rank percentile of already collected samples (ms). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    count: sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? NaN),
    meanMs: round(sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1)),
  };
}

/** Runs `task(i)` for i in [0, total) with at most `concurrency` in flight; returns per-task ms. */
export async function runConcurrently(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number[]> {
  const durations: number[] = new Array(total);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < total; i = next++) {
      const started = performance.now();
      await task(i);
      durations[i] = performance.now() - started;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  return durations;
}

/** Current and peak resident set size of a process (Linux /proc), in MiB. */
export function memoryOf(pid: number): { rssMiB: number; peakRssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: Math.round(kib('VmRSS') / 1024), peakRssMiB: Math.round(kib('VmHWM') / 1024) };
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs: number, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const ratio = (ours: number, floor: number) => Math.round((ours / floor) * 100) / 100;

/** CPU time (user + system) a process has used so far, in seconds; with its reaped children's when asked (Linux /proc). */
export function cpuSecondsOf(pid: number, withChildren = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14-17 of stat (here 11-14): utime, stime, cutime, cstime in clock ticks (USER_HZ = 100).
  const ticks = Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0);
  return ticks / 100;
}

/**
 * CPU seconds of every PostgreSQL process of the machine (the server the bench uses): backends, and
 * through the postmaster's children counters, the ones that have exited.
 */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      total += cpuSecondsOf(Number(entry), true);
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}

/** CPU seconds used between two readings, per process name. */
export function cpuBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, seconds]) => [name, Math.round((seconds - (before[name] ?? 0)) * 100) / 100]));
}
