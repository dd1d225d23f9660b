/**
 * What engineers see of an order in the Temporal Web UI: its search attributes (status, source,
 * stuck) and the "current details" panel, both following every projected change.
 */
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { lineViews, STUCK_REASON_TEXT, type OrderState } from '../domain/order';
import { OrderSourceKey, OrderStatusKey, OrderStuckKey, StuckReasonKey } from './search-attributes';

/**
 * Each upsert is a history event and a visibility write on the server, so only the values that differ
 * from what the execution already carries (from its start or earlier upserts) are sent.
 */
export function publishVisibility(state: OrderState) {
  const wanted: SearchAttributeUpdatePair[] = [
    { key: OrderStatusKey, value: state.status },
    { key: OrderSourceKey, value: state.content.source ?? null },
    { key: StuckReasonKey, value: state.stuck ? state.stuck.reason : null },
    { key: OrderStuckKey, value: state.stuck !== null },
  ];
  const current = workflowInfo().typedSearchAttributes;
  const changes = wanted.filter((pair) => (current.get(pair.key as never) ?? null) !== pair.value);
  if (changes.length) upsertSearchAttributes(changes);
  setCurrentDetails(currentDetails(state));
}

/** The Web UI's details panel (Markdown): status, why it is stuck, lines, shipments, flags. */
function currentDetails(state: OrderState): string {
  const last = state.timeline[state.timeline.length - 1];
  const lines = lineViews(state)
    .filter((l) => !l.adjustment)
    .map((l) => `- ${l.sku || l.lineId}: ${l.shipped}/${l.ordered} shipped`);
  const shipments = state.shipments.map(
    (s) => `- ${s.carrier} ${s.trackingNumber ?? '(no tracking)'}: ${s.lines.map((l) => `${l.lineId}x${l.quantity}`).join(', ') || 'no units'}${s.confirmationDeliveredAt ? ' (confirmed)' : ''}`,
  );
  return [
    `**Order ${state.orderNumber}** (${state.merchantId}) - status **${state.status}**`,
    state.stuck ? `**STUCK**: ${state.stuck.reason} since ${state.stuck.since} (${state.stuck.detail ?? STUCK_REASON_TEXT[state.stuck.reason]})` : '',
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
    .join('\n');
}
