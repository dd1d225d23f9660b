/**
 * One order = one workflow. The workflow owns the order's state; the rules live in
 * domain/lifecycle.ts; this file adds what only a workflow can: messages, deadlines, the grace period,
 * and projecting every change to the read model through an idempotent activity.
 *
 * Projection is serialised: handlers change the state and bump `version`; the main loop projects the
 * newest version (one activity at a time); a request handler answers only once its change is in the
 * read model, so the API can read its own writes.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  isCancellation,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair, UpdateDefinition } from '@temporalio/common';
import type { createActivities } from '../activities';
import type { ConfirmationMode } from '../activities/confirmations';
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
  undeliveredShipments,
  withDeadlineOverrides,
  type OrderSettings,
} from '../domain/lifecycle';
import { isTerminal, lineViews, STUCK_REASON_TEXT, type OrderContent, type OrderState } from '../domain/order';
import { describeWait } from '../domain/dates';
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
} from './messages';
import { OrderSourceKey, OrderStatusKey, OrderStuckKey, StuckReasonKey } from './search-attributes';

type Activities = ReturnType<typeof createActivities>;

const { deliverConfirmation } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // At least once, with backoff, until the receiver takes it; a refusal it means is not retried.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: ['ConfirmationRejected'] },
});

const { projectOrder, loadOrderState } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // The read model may be down for a while; keep trying, visibly, rather than lose a change.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Projections of changes made by signals (export marks, shipments, confirmations) run as local
 * activities: in the worker, inside the workflow task that made the change, with no activity task to
 * schedule, dispatch and report back (docs/performance.md). Retried the same way; a long outage backs
 * off on timers.
 */
const { projectOrder: projectOrderLocally, confirmationMode } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export type OrderWorkflowInput =
  /** A new order posted by its source. */
  | {
      kind: 'new';
      orderId: string;
      merchantId: string;
      content: OrderContent;
      createHash: string;
      settings: OrderSettings;
      /**
       * The creating request's deadline. The order exists only once a `register` update is accepted
       * by then; otherwise the run fails without writing anything, as the API's 503 promised.
       */
      registerBy: string;
    }
  /** A fact arrived for an order whose workflow had closed: rebuild from the read model and record it. */
  | { kind: 'reopen'; orderId: string; merchantId: string; orderNumber: string; settings: OrderSettings }
  /** Continue-as-new of a long-lived order; everything up to `version` is projected. */
  | { kind: 'continued'; state: OrderState; version: number; settings: OrderSettings };

export interface OrderWorkflowResult {
  orderId: string;
  status: OrderState['status'];
  shipments: number;
}

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowResult> {
  let settings = input.settings;
  const now = () => new Date(Date.now()).toISOString();

  let state: OrderState | undefined =
    input.kind === 'new'
      ? newOrderState({ orderId: input.orderId, merchantId: input.merchantId, content: input.content, createHash: input.createHash, now: now() })
      : input.kind === 'continued'
        ? input.state
        : undefined;
  /**
   * Bumped by every change; the read model holds `projectedVersion`. Versions keep rising across
   * continue-as-new and reopened runs, or the read model would take newer changes for stale ones.
   */
  let version = input.kind === 'continued' ? input.version : 1;
  let projectedVersion = input.kind === 'continued' ? input.version : 0;
  /** Lines and shipments as this run last projected them (JSON); a new run writes them in full once. */
  let projectedLines: string | undefined;
  let projectedShipments: string | undefined;

  /** Only a reopened run waits for its state (loaded from the read model); skipping the wait saves a round in the sandbox. */
  const ready = () => condition(() => state !== undefined);
  const changed = () => {
    version++;
  };
  /** Update handlers waiting for their change to reach the read model (see the projection loop). */
  let updatesAwaitingProjection = 0;
  const projected = async () => {
    const mine = version;
    updatesAwaitingProjection++;
    try {
      await condition(() => projectedVersion >= mine);
    } finally {
      updatesAwaitingProjection--;
    }
    return state!;
  };

  /** Shipments whose confirmation this run has sent on its way (or found to be picked up). */
  const delivering = new Set<string>();
  /** How the source takes confirmations, as the last projection read it (undefined: not known). */
  let knownMode: ConfirmationMode | undefined;
  /** The delivery attempt under way per shipment; a retry cancels it and starts afresh. */
  const inFlight = new Map<string, CancellationScope>();
  const deliverConfirmations = () => {
    for (const shipment of undeliveredShipments(state!)) {
      if (delivering.has(shipment.shipmentKey)) continue;
      delivering.add(shipment.shipmentKey);
      const scope = new CancellationScope();
      inFlight.set(shipment.shipmentKey, scope);
      void scope
        .run(() => deliverOne(shipment.shipmentKey, shipment.trackingNumber))
        .finally(() => {
          if (inFlight.get(shipment.shipmentKey) === scope) inFlight.delete(shipment.shipmentKey);
        });
    }
  };
  const deliverOne = async (shipmentKey: string, tracking: string | undefined) => {
    const s = state!;
    try {
      // Pickup: the order source acks it through the API (a confirmationDelivered fact). Which mode
      // the source takes came back with the projection that recorded the shipment, else a local
      // activity reads it: pickup, the usual mode, schedules nothing.
      if ((knownMode ?? (await confirmationMode({ merchantId: s.merchantId, source: s.content.source ?? null }))) === 'pickup') return;
      const result = await deliverConfirmation.executeWithOptions(
        { startToCloseTimeout: '30 seconds', summary: `confirm shipment ${tracking ?? shipmentKey} to the order source` },
        [{ orderId: s.orderId, merchantId: s.merchantId, source: s.content.source ?? null, shipmentKey }],
      );
      if (result.mode === 'push' && applyConfirmationDelivered(state!, shipmentKey, now())) changed();
    } catch (error) {
      if (isCancellation(error)) return; // a retry replaced this attempt
      const cause = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : null;
      const detail = cause?.message ?? String(error);
      log.warn('confirmation not delivered', { orderNumber: s.orderNumber, shipmentKey, detail });
      if (applyDeliveryRejected(state!, shipmentKey, detail, now())) changed();
    }
  };

  /** Validators run before the handler and may not change anything; a refusal reaches the caller as 409. */
  const guard = (request: RequestEnvelope, check: (s: OrderState) => string | null) => {
    if (!state) throw ApplicationFailure.create({ type: REOPENING, message: 'the order is being reopened; nothing changed, try again in a moment' });
    if (Date.now() > Date.parse(request.expiresAt)) {
      throw ApplicationFailure.create({ type: EXPIRED, message: 'the request expired before a worker could take it; nothing changed' });
    }
    const reason = check(state);
    if (reason) throw ApplicationFailure.create({ type: REFUSED, message: reason });
  };

  // ---- messages (registered before anything awaits, so none is dropped) --------------------------
  setHandler(stateQuery, () => {
    if (!state) throw new Error('the order is being reopened from the read model');
    return state;
  });

  let registered = input.kind !== 'new';
  setHandler(
    registerUpdate,
    async () => {
      registered = true;
      return projected();
    },
    {
      validator: (request) =>
        guard(request, (s) =>
          s.createHash === request.createHash ? null : `order ${s.orderNumber} already exists with a different payload`,
        ),
    },
  );
  /** A request: validated by its rule (refusal = 409), applied, answered once projected. */
  const handleRequest = <R extends RequestEnvelope>(
    update: UpdateDefinition<OrderState, [R]>,
    check: (s: OrderState, request: R) => string | null,
    apply: (s: OrderState, request: R, at: string) => boolean,
  ) =>
    setHandler(
      update,
      async (request) => {
        if (apply(state!, request, now())) changed();
        return projected();
      },
      { validator: (request) => guard(request, (s) => check(s, request)) },
    );

  handleRequest(markPaidUpdate, checkMarkPaid, (s, _, at) => applyMarkPaid(s, at));
  handleRequest(holdUpdate, checkHold, (s, { reason }, at) => applyHold(s, reason, at));
  handleRequest(releaseUpdate, checkRelease, (s, _, at) => applyRelease(s, at));
  handleRequest(cancelUpdate, checkCancel, (s, { reason }, at) => applyCancel(s, reason, at));
  handleRequest(updateOrderUpdate, (s, { changes }) => checkUpdateOrder(s, changes), (s, { changes }, at) => applyUpdateOrder(s, changes, at));
  handleRequest(retryUpdate, (s, { reason }) => checkRetry(s, reason), (s, _, at) => {
    const reason = s.stuck?.reason;
    // Redeliver now: an attempt still backing off is cancelled, and the main loop starts a new one
    // (same idempotency key, so the receiver still sees one shipment).
    if (reason === 'confirmation_undelivered' || reason === 'confirmation_rejected') {
      for (const shipment of undeliveredShipments(s)) {
        inFlight.get(shipment.shipmentKey)?.cancel();
        inFlight.delete(shipment.shipmentKey);
        delivering.delete(shipment.shipmentKey);
      }
    }
    return applyRetry(s, at);
  });
  handleRequest(resendUpdate, checkResend, (s, _, at) => applyResend(s, at));

  // The signal handler never throws: a fact is recorded or recognised as a repeat, nothing else.
  setHandler(factSignal, async (message) => {
    if (!state) await ready();
    const outcome = applyFact(state!, message, now());
    if (message.kind !== 'confirmationDelivered') {
      log.info('fact recorded', { orderNumber: state!.orderNumber, factId: message.factId, kind: message.kind, changed: outcome.changed, ...(outcome.shipment ? { shipment: outcome.shipment } : {}) });
    }
    if (outcome.changed) changed();
  });

  // ---- reopening a closed order ------------------------------------------------------------------
  if (input.kind === 'reopen') {
    const loaded = await loadOrderState.executeWithOptions({ startToCloseTimeout: '30 seconds', summary: 'reopen: load the order from the read model' }, [input.orderId]);
    if (!loaded) {
      throw ApplicationFailure.nonRetryable(`order ${input.orderId} is not in the read model; cannot reopen it`);
    }
    state = loaded.state;
    // The merchant's deadlines apply to a reopened order as they did when it was created.
    settings = withDeadlineOverrides(settings, loaded.deadlines);
    projectedVersion = loaded.version;
    version = loaded.version;
    // Let the fact(s) that reopened the order apply. A repeat of something already recorded changes
    // nothing: then this run ends at once instead of waiting out another grace period.
    await condition(allHandlersFinished);
    if (version === loaded.version) {
      return { orderId: state.orderId, status: state.status, shipments: state.shipments.length };
    }
    applyLateFact(state, now(), 'a message arrived after the order workflow had closed');
    changed();
  }

  if (input.kind === 'new') {
    // The creating request normally arrives with the start, in the same workflow task.
    const wait = Math.max(1, Date.parse(input.registerBy) - Date.now());
    if (!registered && !(await condition(() => registered, wait, { summary: 'waiting for the creating request' }))) {
      // The start named the order's first status; an order that never came to exist has none.
      upsertSearchAttributes([{ key: OrderStatusKey, value: null }]);
      throw ApplicationFailure.create({
        type: 'OrderCreationNotConfirmed',
        message: 'no worker took the creating request before its deadline; nothing was recorded (the source was told 503)',
        nonRetryable: true,
      });
    }
  }

  // ---- the order's life --------------------------------------------------------------------------
  publishVisibility(state!);
  for (;;) {
    if (projectedVersion < version) {
      const target = version;
      // What the lines and shipments were at the last projection of this run: unchanged parts are not rewritten.
      const linesNow = JSON.stringify([state!.content.lines, state!.shipped]);
      const shipmentsNow = JSON.stringify(state!.shipments);
      const unchanged = { lines: linesNow === projectedLines, shipments: shipmentsNow === projectedShipments };
      const projection = [{ state: state!, version: target, workflowId: workflowInfo().workflowId, unchanged }] as const;
      const summary = `project ${state!.status} v${target}`;
      // A local activity keeps the workflow task open until it is done, and with it the acceptance of
      // any update in that task: a caller waiting for acceptance could time out and be told "nothing
      // changed" although it did. So a change an update waits for is projected by a regular activity
      // (the task, and the acceptance, complete first); changes made by signals go local.
      const local = updatesAwaitingProjection === 0;
      const { lastModified, confirmationMode: mode } = local
        ? await projectOrderLocally.executeWithOptions({ startToCloseTimeout: '30 seconds', summary }, [...projection])
        : await projectOrder.executeWithOptions({ startToCloseTimeout: '30 seconds', summary }, [...projection]);
      state!.lastModified = lastModified;
      knownMode = mode;
      projectedLines = linesNow;
      projectedShipments = shipmentsNow;
      projectedVersion = target;
      publishVisibility(state!);
      continue;
    }
    deliverConfirmations();
    if (workflowInfo().continueAsNewSuggested && allHandlersFinished() && inFlight.size === 0) {
      await continueAsNew<typeof orderWorkflow>({ kind: 'continued', state: state!, version, settings });
    }

    const seen = version;
    const wake = () => version !== seen || (workflowInfo().continueAsNewSuggested && allHandlersFinished() && inFlight.size === 0);
    const terminal = isTerminal(state!.status);
    const deadline = terminal ? null : currentDeadline(state!, settings.deadlines);
    if (terminal) {
      const quiet = !(await condition(wake, settings.terminalGraceMs, {
        summary: `grace period ${describeWait(settings.terminalGraceMs)} for late facts`,
      }));
      if (quiet && allHandlersFinished() && inFlight.size === 0) break;
    } else if (deadline) {
      const wait = Math.max(1, deadline.at - Date.now());
      const timedOut = !(await condition(wake, wait, {
        summary: `deadline ${deadline.reason} in ${describeWait(wait)}`,
      }));
      if (timedOut && applyStuck(state!, deadline.reason, now())) {
        log.warn('order stuck', { orderNumber: state!.orderNumber, reason: deadline.reason });
        changed();
      }
    } else {
      await condition(wake);
    }
  }

  await condition(allHandlersFinished);
  return { orderId: state!.orderId, status: state!.status, shipments: state!.shipments.length };
}

/**
 * Search attributes and the Web UI's "current details" follow every projected change. Each upsert
 * is a history event and a visibility write on the server, so only the values that differ from what
 * the execution already carries (from its start or earlier upserts) are sent.
 */
function publishVisibility(state: OrderState) {
  const wanted: SearchAttributeUpdatePair[] = [
    { key: OrderStatusKey, value: state.status },
    { key: OrderSourceKey, value: state.content.source ?? null },
    { key: StuckReasonKey, value: state.stuck ? state.stuck.reason : null },
    { key: OrderStuckKey, value: state.stuck !== null },
  ];
  const current = workflowInfo().typedSearchAttributes;
  const changes = wanted.filter((pair) => (current.get(pair.key as never) ?? null) !== pair.value);
  if (changes.length) upsertSearchAttributes(changes);
  const last = state.timeline[state.timeline.length - 1];
  const lines = lineViews(state)
    .filter((l) => !l.adjustment)
    .map((l) => `- ${l.sku || l.lineId}: ${l.shipped}/${l.ordered} shipped`);
  const shipments = state.shipments.map(
    (s) => `- ${s.carrier} ${s.trackingNumber ?? '(no tracking)'}: ${s.lines.map((l) => `${l.lineId}x${l.quantity}`).join(', ') || 'no units'}${s.confirmationDeliveredAt ? ' (confirmed)' : ''}`,
  );
  setCurrentDetails(
    [
      `**Order ${state.orderNumber}** (${state.merchantId}) - status **${state.status}**`,
      state.stuck
        ? `**STUCK**: ${state.stuck.reason} since ${state.stuck.since} (${state.stuck.detail ?? STUCK_REASON_TEXT[state.stuck.reason]})`
        : '',
      state.status === 'on_hold' && state.holdReason ? `Hold: ${state.holdReason}` : '',
      `LastModified: ${state.lastModified ?? 'not yet projected'}`,
      last ? `Last event: ${last.event}${last.detail ? ` (${last.detail})` : ''} at ${last.at}` : '',
      '',
      '**Lines**',
      ...lines,
      ...(shipments.length ? ['', '**Shipments**', ...shipments] : []),
      ...(state.flags.length ? ['', '**Flags**', ...state.flags.map((f) => `- ${f.code}: ${f.detail}`)] : []),
    ]
      .filter((line, i, all) => line !== '' || (i > 0 && all[i - 1] !== ''))
      .join('\n'),
  );
}
