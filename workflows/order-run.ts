/**
 * One run of an order workflow: the order's state, every message handler, and the steps the
 * workflow function (workflows/order.ts) takes. The rules themselves live in domain/lifecycle.ts;
 * this class adds what only a workflow can: messages, deadlines, the grace period, and serialised
 * projection to the read model.
 *
 * Projection is serialised: a handler changes the state and bumps `version`; the workflow projects
 * the newest version (one activity at a time); an update handler answers only once its change is in
 * the read model, so the API can read its own writes.
 */
import { allHandlersFinished, ApplicationFailure, condition, log, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import type { FactMessage } from '../domain/facts';
import {
  applyCancel,
  applyConfirmationDelivered,
  applyDeliveryRejected,
  applyFact,
  applyHold,
  applyLateFact,
  applyMarkPaid,
  applyRelease,
  applyResend,
  applyRetry,
  applyStuck,
  applyUpdateOrder,
  checkCancel,
  checkHold,
  checkMarkPaid,
  checkRelease,
  checkResend,
  checkRetry,
  checkUpdateOrder,
  currentDeadline,
  newOrderState,
  TIMELINE_OMITTED_EVENT,
  withDeadlineOverrides,
  type OrderSettings,
} from '../domain/lifecycle';
import { isTerminal, type OrderState } from '../domain/order';
import { describeWait } from '../domain/dates';
import { ConfirmationDeliveries } from './confirmations';
import {
  cancelUpdate,
  EXPIRED,
  factSignal,
  holdUpdate,
  markPaidUpdate,
  REFUSED,
  REOPENING,
  registerUpdate,
  releaseUpdate,
  resendUpdate,
  retryUpdate,
  stateQuery,
  updateOrderUpdate,
  type RequestEnvelope,
  type RequestOutcome,
} from './messages';
import type { OrderWorkflowInput, OrderWorkflowResult } from './order';
import { ReadModel } from './read-model';
import { OrderStatusKey } from './search-attributes';
import { publishVisibility } from './visibility';

const now = () => new Date(Date.now()).toISOString();

export class OrderRun {
  private settings: OrderSettings;
  /** Undefined only while a reopened run loads it from the read model. */
  private state: OrderState | undefined;
  /**
   * Bumped by every change; the read model holds up to the version it was last given. Versions keep
   * rising across continue-as-new and reopened runs, or the read model would take newer changes for
   * stale ones.
   */
  private version: number;
  /** Whether the creating request (`register`) has arrived; only a new order waits for it. */
  private registered: boolean;
  /** Update handlers waiting for their change to reach the read model. */
  private updatesAwaitingProjection = 0;
  private readonly readModel: ReadModel;
  private readonly confirmations: ConfirmationDeliveries;

  /** Registers every message handler, before the workflow awaits anything, so none is dropped. */
  constructor(input: OrderWorkflowInput) {
    this.settings = input.settings;
    this.state =
      input.kind === 'new'
        ? newOrderState({ orderId: input.orderId, merchantId: input.merchantId, content: input.content, createHash: input.createHash, now: now() })
        : input.kind === 'continued'
          ? input.state
          : undefined;
    this.version = input.kind === 'continued' ? input.version : 1;
    this.registered = input.kind !== 'new';
    this.readModel = new ReadModel(input.kind === 'continued' ? input.projectedVersion : 0);
    this.confirmations = new ConfirmationDeliveries({
      delivered: (shipmentKey) => this.noteChange(applyConfirmationDelivered(this.current, shipmentKey, now())),
      rejected: (shipmentKey, detail) => this.noteChange(applyDeliveryRejected(this.current, shipmentKey, detail, now())),
    });
    if (input.kind === 'continued') this.confirmations.mode = input.confirmationMode;
    this.registerHandlers();
  }

  // ---- the steps of the workflow ------------------------------------------------------------------

  /**
   * A fact arrived after the order's workflow had closed: rebuild the order from the read model and
   * let the fact(s) apply. Returns false when they changed nothing (a repeat): the run then ends at
   * once instead of waiting out another grace period.
   */
  async reopen(orderId: string): Promise<boolean> {
    const loaded = await this.readModel.load(orderId);
    if (!loaded) throw ApplicationFailure.nonRetryable(`order ${orderId} is not in the read model; cannot reopen it`);
    this.state = loaded.state;
    // The merchant's deadlines apply to a reopened order as they did when it was created.
    this.settings = withDeadlineOverrides(this.settings, loaded.deadlines);
    this.version = loaded.version;
    await condition(allHandlersFinished);
    if (this.version === loaded.version) return false;
    applyLateFact(this.current, now(), 'a message arrived after the order workflow had closed');
    this.noteChange(true);
    return true;
  }

  /**
   * A new order exists only once its creating request is accepted before that request's deadline
   * (it normally arrives with the start, in the same workflow task). Otherwise the run fails having
   * written nothing, as the API's 503 promised.
   */
  async awaitCreatingRequest(registerBy: string): Promise<void> {
    const wait = Math.max(1, Date.parse(registerBy) - Date.now());
    if (this.registered || (await condition(() => this.registered, wait, { summary: 'waiting for the creating request' }))) return;
    // The start named the order's first status; an order that never came to exist has none.
    upsertSearchAttributes([{ key: OrderStatusKey, value: null }]);
    throw ApplicationFailure.create({
      type: 'OrderCreationNotConfirmed',
      message: 'no worker took the creating request before its deadline; nothing was recorded (the source was told 503)',
      nonRetryable: true,
    });
  }

  publishVisibility() {
    publishVisibility(this.current);
  }

  /** Projects until the read model holds the newest version; the Web UI follows each projection. */
  async projectChanges(): Promise<void> {
    while (this.readModel.version < this.version) {
      const state = this.current;
      const projected = await this.readModel.project(state, this.version, this.updatesAwaitingProjection > 0);
      state.lastModified = projected.lastModified;
      this.confirmations.mode = projected.confirmationMode;
      publishVisibility(state);
    }
  }

  deliverConfirmations() {
    this.confirmations.deliver(this.current);
  }

  /** Temporal suggests a fresh history, and nothing is under way that the next run could not take over. */
  readyToContinueAsNew(): boolean {
    return workflowInfo().continueAsNewSuggested && allHandlersFinished() && this.confirmations.idle;
  }

  /**
   * Whether the run may continue as new now: still ready after a workflow task of its own. Deciding
   * in the task that projected a change loses facts: when a signal arrives during that task, the
   * server refuses the continue-as-new (UnhandledCommand) and the task is retried, but the retry
   * resolves the local projection before it delivers the new signal, so the run ended without it
   * (test/order-workflow-standins.test.ts). A task started by a 1 ms timer carries every signal that
   * arrived meanwhile in its first activation, whose handlers run before this decision; the run then
   * continues at once, without projecting first (the next run projects what this one did not), so
   * facts arriving all the time cannot put continue-as-new off for ever.
   */
  async stillReadyToContinueAsNew(): Promise<boolean> {
    await sleep(1);
    // The handlers of those signals finish their bookkeeping within this activation; an update
    // waiting for its projection keeps the run going instead.
    await condition(() => allHandlersFinished() || this.updatesAwaitingProjection > 0);
    return this.readyToContinueAsNew();
  }

  continuation(): OrderWorkflowInput {
    return {
      kind: 'continued',
      state: this.current,
      version: this.version,
      projectedVersion: this.readModel.version,
      settings: this.settings,
      confirmationMode: this.confirmations.mode,
    };
  }

  get closed(): boolean {
    return isTerminal(this.current.status);
  }

  /** An open order waits for its next change, or for its current deadline: past it, the order is stuck. */
  async waitForChangeOrDeadline(): Promise<void> {
    const deadline = currentDeadline(this.current, this.settings.deadlines);
    if (!deadline) {
      await condition(this.woken());
      return;
    }
    const wait = Math.max(1, deadline.at - Date.now());
    const timedOut = !(await condition(this.woken(), wait, { summary: `deadline ${deadline.reason} in ${describeWait(wait)}` }));
    if (timedOut && this.noteChange(applyStuck(this.current, deadline.reason, now()))) {
      log.warn('order stuck', { orderNumber: this.current.orderNumber, reason: deadline.reason });
    }
  }

  /** A closed order waits out the grace period for late facts. True when none came: the run may end. */
  async gracePeriodPassedQuietly(): Promise<boolean> {
    const grace = this.settings.terminalGraceMs;
    const quiet = !(await condition(this.woken(), grace, { summary: `grace period ${describeWait(grace)} for late facts` }));
    return quiet && allHandlersFinished() && this.confirmations.idle;
  }

  result(): OrderWorkflowResult {
    const state = this.current;
    return { orderId: state.orderId, status: state.status, shipments: state.shipments.length };
  }

  // ---- messages -----------------------------------------------------------------------------------

  private registerHandlers() {
    setHandler(stateQuery, () => this.current);
    setHandler(
      registerUpdate,
      async () => {
        this.registered = true;
        return this.projected();
      },
      {
        validator: (request) =>
          this.guard(request, (s) => (s.createHash === request.createHash ? null : `order ${s.orderNumber} already exists with a different payload`)),
      },
    );
    this.handleRequest(markPaidUpdate, checkMarkPaid, (s, _, at) => applyMarkPaid(s, at));
    this.handleRequest(holdUpdate, checkHold, (s, { reason }, at) => applyHold(s, reason, at));
    this.handleRequest(releaseUpdate, checkRelease, (s, _, at) => applyRelease(s, at));
    this.handleRequest(cancelUpdate, checkCancel, (s, { reason }, at) => applyCancel(s, reason, at));
    this.handleRequest(updateOrderUpdate, (s, { changes }) => checkUpdateOrder(s, changes), (s, { changes }, at) => applyUpdateOrder(s, changes, at));
    this.handleRequest(retryUpdate, (s, { reason }) => checkRetry(s, reason), (s, _, at) => {
      this.confirmations.redeliver(s);
      return applyRetry(s, at);
    });
    this.handleRequest(resendUpdate, checkResend, (s, _, at) => applyResend(s, at));
    // A signal handler never throws: a fact is recorded or recognised as a repeat, nothing else.
    setHandler(factSignal, (message) => this.onFact(message));
  }

  /** A request: validated by its rule (a refusal reaches the caller as 409), applied, answered once projected. */
  private handleRequest<R extends RequestEnvelope>(
    update: UpdateDefinition<RequestOutcome, [R]>,
    check: (s: OrderState, request: R) => string | null,
    apply: (s: OrderState, request: R, at: string) => boolean,
  ) {
    setHandler(
      update,
      async (request) => {
        const state = this.current;
        // By identity, not by position: the timeline keeps only its first and last entries, so a
        // long one does not grow when an entry is added.
        const entriesBefore = new Set(state.timeline);
        if (this.noteChange(apply(state, request, now())) && request.requestedBy) {
          for (const entry of state.timeline) if (!entriesBefore.has(entry) && entry.event !== TIMELINE_OMITTED_EVENT) entry.by = request.requestedBy;
        }
        return this.projected();
      },
      { validator: (request) => this.guard(request, (s) => check(s, request)) },
    );
  }

  /** Validators run before the handler and may not change anything. */
  private guard(request: RequestEnvelope, check: (s: OrderState) => string | null) {
    if (!this.state) throw ApplicationFailure.create({ type: REOPENING, message: 'the order is being reopened; nothing changed, try again in a moment' });
    if (Date.now() > Date.parse(request.expiresAt)) {
      throw ApplicationFailure.create({ type: EXPIRED, message: 'the request expired before a worker could take it; nothing changed' });
    }
    const reason = check(this.state);
    if (reason) throw ApplicationFailure.create({ type: REFUSED, message: reason });
  }

  private async onFact(message: FactMessage) {
    // Only a reopened run has no state yet; it waits for the read model rather than drop the fact.
    if (!this.state) await condition(() => this.state !== undefined);
    const outcome = applyFact(this.current, message, now());
    this.noteChange(outcome.changed);
    if (message.kind !== 'confirmationDelivered') {
      const { shipment } = outcome;
      log.info('fact recorded', { orderNumber: this.current.orderNumber, factId: message.factId, kind: message.kind, changed: outcome.changed, ...(shipment ? { shipment } : {}) });
    }
  }

  /** A rule that changed the state gives the order a new version (to be projected). Returns `changed`. */
  private noteChange(changed: boolean): boolean {
    if (changed) this.version++;
    return changed;
  }

  /** Resolves once the read model holds every change made so far, with what the caller needs to know. */
  private async projected(): Promise<RequestOutcome> {
    const mine = this.version;
    this.updatesAwaitingProjection++;
    try {
      // Then the change is in the read model, where the caller reads it.
      await condition(() => this.readModel.version >= mine);
    } finally {
      this.updatesAwaitingProjection--;
    }
    return { status: this.current.status, version: mine };
  }

  private get current(): OrderState {
    if (!this.state) throw new Error('the order is being reopened from the read model');
    return this.state;
  }

  /** A wake-up condition: something changed since now, or the history should continue as new. */
  private woken(): () => boolean {
    const seen = this.version;
    return () => this.version !== seen || this.readyToContinueAsNew();
  }
}
