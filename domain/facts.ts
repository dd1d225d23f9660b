/**
 * Facts: what the outside world tells an order that must never be lost and cannot be refused.
 * ShipStation reports them (a page served the order, left it out, a package shipped); order sources
 * and ops report the rest (a confirmation picked up, a stored notice replayed). Every fact is stored
 * in the database first (db/order-facts.ts), then the relay (runtime/fact-relay.ts) forwards it to
 * its order's workflow as one typed signal. The workflow recognises a repeat by its business key.
 */
import type { ShipmentReport } from './order';

export type OrderFact =
  /** ShipStation served the order in an export page (as a paid order, or held from pending). */
  | { kind: 'exported'; exportKey: string }
  /** ShipStation could not import the order, so a page left it out. */
  | { kind: 'exportRefused'; exportKey: string; reason: string }
  /** A package shipped (shipnotify, or a stored notice replayed by ops). */
  | { kind: 'shipmentReported'; report: ShipmentReport }
  /** The order source picked up the detailed confirmation of one shipment. */
  | { kind: 'confirmationDelivered'; shipmentKey: string };

export type OrderFactKind = OrderFact['kind'];

/** What the relay sends: the fact, the id it is stored under, and when it reached us. */
export type FactMessage = OrderFact & {
  factId: string;
  /** When the call that reported it was answered (the database's clock). */
  receivedAt: string;
};

/**
 * Whether a closed order (terminal and past its grace period) is reopened to record the fact. An
 * export mark means nothing to a finished order; a shipment or a confirmation must be recorded.
 */
export function reopensClosedOrder(fact: OrderFact): boolean {
  return fact.kind === 'shipmentReported' || fact.kind === 'confirmationDelivered';
}

/**
 * The key under which a repeat of the same fact is stored once (null: every arrival is a fact of its
 * own). Export marks repeat each time ShipStation reads the same page again, and acks when a source
 * retries. Shipments are never collapsed here: ops replay relies on a repeated notice reaching the
 * workflow, which recognises it by the shipment key.
 */
export function factDedupeKey(fact: OrderFact): string | null {
  switch (fact.kind) {
    case 'exported':
    case 'exportRefused':
      return `${fact.kind}:${fact.exportKey}`;
    case 'confirmationDelivered':
      return `${fact.kind}:${fact.shipmentKey}`;
    case 'shipmentReported':
      return null;
  }
}

/** One line for logs, the order view and ops: what the fact says. */
export function describeFact(fact: OrderFact): string {
  switch (fact.kind) {
    case 'exported':
      return `served in export page ${fact.exportKey}`;
    case 'exportRefused':
      return `left out of export page ${fact.exportKey}: ${fact.reason}`;
    case 'shipmentReported':
      return `shipment ${fact.report.carrier}${fact.report.trackingNumber ? ` ${fact.report.trackingNumber}` : ''} (${fact.report.reportedVia})`;
    case 'confirmationDelivered':
      return `confirmation of shipment ${fact.shipmentKey} picked up`;
  }
}
