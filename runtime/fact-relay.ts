/**
 * The fact relay: forwards every stored fact (db/order-facts.ts) to its order's workflow, at least
 * once, oldest first per order. It runs in each API process, beside the handlers that store facts:
 *
 * - right after a commit the handler calls `kick()`, so a fact normally leaves within milliseconds;
 *   while this process is answering ShipStation calls (a burst of notices), a sweep holds back until
 *   they are answered, for at most `maxDeferMs` (2 s): on two cores, forwarding and recording compete
 *   with the answers for the CPU, and it is the answers ShipStation waits for;
 * - a sweep every few seconds takes what was left behind (a process that died between commit and
 *   forwarding, a fact backing off, another process's expired lease);
 * - `deliverOrder()` sends one order's pending facts before a request is sent to that order, so a
 *   cancel never overtakes a shipment ShipStation already reported.
 *
 * Two kinds of failure are kept apart. Temporal not answering at all (refused, unreachable, frozen)
 * opens one circuit for every fact: nothing is counted against the facts, the relay probes the server
 * every few seconds (at most SWEEP apart, so facts move within a minute of Temporal's return) and
 * resumes on the first success. A fact that fails on its own (its order cannot be reopened, a payload
 * the server refuses) gets a backoff of its own, stays pending with its last error for ops to retry or
 * discard, and does not hold up other orders' facts.
 *
 * No database transaction is held across a Temporal call: a fact is claimed with a lease in one
 * statement, delivered, then settled in another. A lease outlives every call's deadline, so a fact
 * whose lease expired is no longer in flight anywhere.
 */
import type { Db } from '../db/client';
import { claimFacts, hasPendingFacts, settleFacts, type ClaimedFact, type FactSettlement } from '../db/order-facts';
import { describeFact } from '../domain/facts';
import { isTemporalUnreachable } from '../temporal/connection';
import type { FactOutcome, FactSignals } from '../temporal/fact-signals';
import type { Logger } from './logger';

/** Facts of this order are still on their way; the request was not sent (nothing changed). */
export class FactsPendingError extends Error {}

/** What the API's metrics count (the worker's relay reports nothing). */
export interface FactRelayObserver {
  settled(outcome: FactOutcome): void;
  failed(): void;
}

export interface FactRelayOptions {
  logger: Logger;
  observer?: FactRelayObserver;
  /** Deadline of each Temporal call. */
  callTimeoutMs?: number;
  /** How often leftovers are swept up, and the longest pause between probes of an unreachable Temporal. */
  sweepMs?: number;
  /** Facts claimed at once, and how many of them are in flight together. */
  batch?: number;
  lanes?: number;
  /** How long a sweep may hold back while ShipStation calls are being answered (whileShipStationWaits). */
  maxDeferMs?: number;
}

const DEFAULTS = { callTimeoutMs: 5_000, sweepMs: 5_000, batch: 50, lanes: 8, maxDeferMs: 2_000 };
/** A fact's own backoff after a failure: 1 s doubling to 5 minutes. */
const retryDelayMs = (attempts: number) => Math.min(1_000 * 2 ** Math.max(0, attempts - 1), 300_000);
/** The circuit's probes: from 0.5 s, doubling, never further apart than the sweep. */
const FIRST_PROBE_MS = 500;
/** A circuit that opens again this soon after closing goes on with the pause it had reached. */
const FLAPPING_MS = 60_000;
/** The least time a request leaves for sending one of its order's facts (else it answers 503 at once). */
const MIN_ATTEMPT_MS = 1_000;

export class FactRelay {
  private readonly settings: Required<Omit<FactRelayOptions, 'observer'>> & { observer?: FactRelayObserver };
  /** The pass under way, if any, and whether another was asked for meanwhile. */
  private pass: Promise<void> | null = null;
  private again = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private running = false;
  /** ShipStation calls this process is answering right now, and the sweeps waiting for them. */
  private shipStationCalls = 0;
  private readonly quietWaiters: (() => void)[] = [];
  /** Open while Temporal does not answer: no deliveries until a probe succeeds. */
  private circuit: { open: false } | { open: true; since: number; nextProbeAt: number; delayMs: number; reason: string } = { open: false };
  private closedAt = 0;
  private lastProbeDelayMs = FIRST_PROBE_MS;

  constructor(
    private readonly db: Db,
    private readonly signals: FactSignals,
    options: FactRelayOptions,
  ) {
    this.settings = { ...DEFAULTS, ...options };
  }

  /** Starts sweeping; until then (and after stop) only deliverOrder() sends anything. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.sweepTimer = setInterval(() => this.kick(), this.settings.sweepMs);
    this.sweepTimer.unref();
    this.kick();
  }

  /** Facts were just committed: forward them now (a pass under way runs once more). */
  kick(): void {
    if (!this.running) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = this.run().finally(() => {
      this.pass = null;
      if (this.again && this.running) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Stops the timers and waits for the pass under way; leased facts are swept up by another process later. */
  async stop(): Promise<void> {
    this.running = false;
    for (const wake of this.quietWaiters.splice(0)) wake();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.sweepTimer = this.probeTimer = null;
    await this.idle();
  }

  /** Resolves once no pass is running (tests wait for the relay's bookkeeping to settle). */
  async idle(): Promise<void> {
    while (this.pass) await this.pass;
  }

  /** Whether Temporal answered the relay's last call (for /readyz and the console). */
  get temporalState(): { reachable: true } | { reachable: false; since: string; reason: string } {
    return this.circuit.open ? { reachable: false, since: new Date(this.circuit.since).toISOString(), reason: this.circuit.reason } : { reachable: true };
  }

  /**
   * ShipStation is waiting on this process while `work` runs: sweeps hold back (for at most
   * `maxDeferMs` after they were asked for) until no such call is in flight, so a burst of notices
   * is answered first and forwarded right after. Requests to an order never wait for this.
   */
  async whileShipStationWaits<T>(work: () => Promise<T>): Promise<T> {
    this.shipStationCalls++;
    try {
      return await work();
    } finally {
      if (--this.shipStationCalls === 0) for (const wake of this.quietWaiters.splice(0)) wake();
    }
  }

  /**
   * Delivers every pending fact of one order, oldest first, before a request is sent to it. Throws
   * FactsPendingError when one cannot be delivered by `deadline` (Temporal unreachable, the fact
   * failing, or another process still holding it): then the request must not be sent.
   */
  async deliverOrder(orderId: string, deadline: number): Promise<void> {
    while (await hasPendingFacts(this.db, orderId)) {
      // Too little time left to send one fairly: a failure now would say nothing about Temporal.
      if (deadline - Date.now() < MIN_ATTEMPT_MS) throw new FactsPendingError('a fact reported earlier for this order is still on its way; nothing changed, try again shortly');
      // A relay that does not sweep (the worker's) has no probe timer: its requests probe, when one is due.
      if (this.circuit.open && !(await this.probe())) {
        throw new FactsPendingError(`a fact reported earlier for this order could not be delivered yet (Temporal unreachable: ${this.circuit.reason}); nothing changed, try again shortly`);
      }
      const [fact] = await claimFacts(this.db, { limit: 1, leaseMs: this.leaseMs(), orderId, ignoreBackoff: true });
      if (fact) {
        const [settled] = await this.deliver([fact], deadline);
        if (settled!.result !== 'delivered' && settled!.result !== 'not_needed') {
          throw new FactsPendingError(`a fact reported earlier for this order could not be delivered yet (${settled!.error}); nothing changed, try again shortly`);
        }
        continue;
      }
      // Another process is delivering it right now: wait for it, within the caller's deadline.
      if (Date.now() >= deadline) throw new FactsPendingError('a fact reported earlier for this order is still being delivered; nothing changed, try again shortly');
      await sleep(50);
    }
  }

  /**
   * Ops asking for an order's facts now (a replay, a retry): true once they are delivered, false when
   * they stay pending for the relay to keep trying (Temporal away, a fact failing on its own).
   */
  async tryDeliverOrder(orderId: string, waitMs = 10_000): Promise<boolean> {
    try {
      await this.deliverOrder(orderId, Date.now() + waitMs);
      return true;
    } catch (error) {
      if (error instanceof FactsPendingError) return false;
      throw error;
    }
  }

  /** One sweep: claim the due head of every order, deliver, repeat until nothing is due. */
  private async run(): Promise<void> {
    const deferUntil = Date.now() + this.settings.maxDeferMs;
    try {
      for (;;) {
        await this.quiet(deferUntil);
        if (!this.running) return;
        if (this.circuit.open && !(await this.probe())) return;
        const facts = await claimFacts(this.db, { limit: this.settings.batch, leaseMs: this.leaseMs() });
        if (facts.length === 0) return;
        const settled = await this.deliver(facts, Number.POSITIVE_INFINITY);
        if (settled.some((s) => s.result === 'released')) return; // the circuit is open; the probe timer resumes
      }
    } catch (error) {
      // The database is unreachable: the sweep timer tries again.
      this.settings.logger.warn({ err: error }, 'fact relay: could not read the pending facts');
    }
  }

  /** Until no ShipStation call is in flight here, or `until`. */
  private async quiet(until: number): Promise<void> {
    const wait = until - Date.now();
    if (this.shipStationCalls === 0 || wait <= 0) return;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.quietWaiters.splice(this.quietWaiters.indexOf(wake) >>> 0, 1);
        resolve();
      }, wait);
      this.quietWaiters.push(wake);
    });
  }

  /**
   * Sends claimed facts (a few at a time, each with a call deadline of its own, none past `deadline`)
   * and records what became of them in one statement. Never throws: a failure to record leaves the
   * leases to expire, and the facts are sent again.
   *
   * "Temporal did not answer" opens the circuit only when nothing in the round got through and the
   * attempt had its full time: when others were delivered, Temporal is there and the slow fact has a
   * problem of its own (counted, backed off) - a workflow whose signals always time out must not stop
   * every other order's facts.
   */
  private async deliver(facts: ClaimedFact[], deadline: number): Promise<FactSettlement[]> {
    const fullTime = deadline - Date.now() >= this.settings.callTimeoutMs;
    const attempted = await inLanes(facts, this.settings.lanes, (fact) => this.attempt(fact, Math.min(deadline, Date.now() + this.settings.callTimeoutMs)));
    const gotThrough = attempted.some((s) => s.result === 'delivered' || s.result === 'not_needed');
    const settled: FactSettlement[] = attempted.map((s, i) =>
      s.result === 'released' && gotThrough && s.sent ? { id: s.id, lease: s.lease, result: 'failed', error: s.error, retryInMs: retryDelayMs(facts[i]!.attempts + 1) } : s,
    );
    try {
      await settleFacts(this.db, settled);
    } catch (error) {
      this.settings.logger.warn({ err: error, facts: facts.length }, 'fact relay: could not record deliveries; their leases expire and they are sent again');
    }
    // Only an attempt that reached the wire says anything about Temporal (one skipped for the open circuit says nothing new).
    const released = attempted.find((s) => s.result === 'released' && s.sent);
    if (gotThrough) this.closeCircuit();
    else if (released && fullTime) this.openCircuit(released.reason ?? 'no answer');
    facts.forEach((fact, i) => this.report(fact, settled[i]!));
    return settled;
  }

  /**
   * One fact's attempt, classified; never throws. `sent`: it reached the wire (not skipped for an open
   * circuit); `reason`: why Temporal did not answer, for the circuit.
   */
  private async attempt(fact: ClaimedFact, deadline: number): Promise<FactSettlement & { sent: boolean; reason?: string }> {
    const { id, lease } = fact;
    // The circuit opened while this fact waited for its lane: give it back without another wait.
    if (this.circuit.open) return { id, lease, sent: false, result: 'released', error: `Temporal unreachable: ${this.circuit.reason}`, reason: this.circuit.reason };
    try {
      const { outcome, runId } = await this.signals.send(fact, deadline);
      if (outcome === 'not_needed') return { id, lease, sent: true, result: 'not_needed' };
      return { id, lease, sent: true, result: 'delivered', outcome, ...(runId ? { runId } : {}) };
    } catch (error) {
      const reason = describeError(error);
      if (isTemporalUnreachable(error)) return { id, lease, sent: true, result: 'released', error: `Temporal unreachable: ${reason}`, reason };
      return { id, lease, sent: true, result: 'failed', error: reason, retryInMs: retryDelayMs(fact.attempts + 1) };
    }
  }

  private report(fact: ClaimedFact, settled: FactSettlement) {
    const { observer, logger } = this.settings;
    if (settled.result === 'delivered' || settled.result === 'not_needed') {
      observer?.settled(settled.result === 'delivered' ? settled.outcome : 'not_needed');
      if (settled.result === 'delivered' && settled.outcome === 'reopened') logger.info({ factId: fact.id, orderNumber: fact.orderNumber, runId: settled.runId }, 'fact reopened its closed order');
    } else if (settled.result === 'failed') {
      observer?.failed();
      logger.warn(
        { factId: fact.id, orderNumber: fact.orderNumber, merchant: fact.merchantId, fact: describeFact(fact.fact), attempts: fact.attempts + 1, retryInMs: settled.retryInMs, error: settled.error },
        'fact not delivered; it stays pending and is retried',
      );
    }
  }

  /**
   * A claimed fact may wait for its lane behind the others of its round, then take two calls (signal,
   * then signal-with-start): the lease covers that, with room to settle. Past it the fact is no longer
   * in flight anywhere (every call has its deadline), and another relay may take it.
   */
  private leaseMs(): number {
    const rounds = Math.ceil(this.settings.batch / this.settings.lanes);
    return this.settings.callTimeoutMs * (2 * rounds + 1);
  }

  private openCircuit(reason: string) {
    const now = Date.now();
    if (!this.circuit.open) {
      this.settings.logger.warn({ reason }, 'fact relay: Temporal is unreachable; facts stay stored and are forwarded once it answers');
      // Flapping (it answered probes, then failed again soon after): go on from the last pause, not from the first.
      const delayMs = now - this.closedAt < FLAPPING_MS ? Math.min(this.lastProbeDelayMs * 2, this.settings.sweepMs) : FIRST_PROBE_MS;
      this.circuit = { open: true, since: now, nextProbeAt: now + delayMs, delayMs, reason };
    } else {
      const delayMs = Math.min(this.circuit.delayMs * 2, this.settings.sweepMs);
      this.circuit = { ...this.circuit, nextProbeAt: now + delayMs, delayMs, reason };
    }
    this.scheduleProbe();
  }

  private closeCircuit() {
    if (!this.circuit.open) return;
    this.settings.logger.info({ unreachableForMs: Date.now() - this.circuit.since }, 'fact relay: Temporal answers again; forwarding the facts stored meanwhile');
    this.lastProbeDelayMs = this.circuit.delayMs;
    this.closedAt = Date.now();
    this.circuit = { open: false };
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.kick(); // what waited meanwhile goes now, not at the next sweep
  }

  private scheduleProbe() {
    if (!this.running || !this.circuit.open) return;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => this.kick(), Math.max(0, this.circuit.nextProbeAt - Date.now()));
    this.probeTimer.unref();
  }

  /** While the circuit is open: is Temporal back? A cheap call, bounded like every other. */
  private async probe(): Promise<boolean> {
    if (!this.circuit.open) return true;
    if (Date.now() < this.circuit.nextProbeAt) return false;
    try {
      await this.signals.ping(Date.now() + this.settings.callTimeoutMs);
      this.closeCircuit();
      return true;
    } catch (error) {
      this.openCircuit(describeError(error));
      return false;
    }
  }
}

/** Runs `work` over `items` with at most `lanes` at once; results in item order. */
async function inLanes<T, R>(items: T[], lanes: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
  return results;
}

/** The message with its causes ("Failed to signal Workflow: 8 RESOURCE_EXHAUSTED: ..."): the outer one alone says little. */
function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (message && !parts.includes(message)) parts.push(message);
  }
  return parts.join(': ');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
