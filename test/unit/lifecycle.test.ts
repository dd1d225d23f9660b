import { describe, expect, it } from 'vitest';
import {
  applyCancel,
  applyConfirmationDelivered,
  applyDeliveryRejected,
  applyExported,
  applyHold,
  applyLateFact,
  applyMarkPaid,
  applyRelease,
  applyResend,
  applyRetry,
  applyShipmentReported,
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
  type OrderDeadlines,
} from '../../domain/lifecycle';
import {
  ORDER_STATUSES,
  STATUS_MAPPING,
  canonicalJson,
  isTerminal,
  lineViews,
  orderWorkflowId,
  type OrderState,
  type OrderStatus,
  type StuckReason,
} from '../../domain/order';
import { T0, at, content, discount, line, newOrder, orderIn, report } from './builders';

const DEADLINES: OrderDeadlines = {
  awaitPaymentMs: 7 * 86_400_000,
  pendingExportMs: 4 * 3_600_000,
  atWmsShipmentMs: 3 * 86_400_000,
};

const lastEntry = (state: OrderState) => state.timeline[state.timeline.length - 1];
const categoryOf = (status: OrderStatus) => STATUS_MAPPING[status].category;

/** A deep copy, to prove that a refused or repeated message left the state exactly as it was. */
const snapshot = (state: OrderState): OrderState => structuredClone(state);

/** The statuses an order can be in, each reached through the real transitions. */
const ALL_STATUSES = [...ORDER_STATUSES];

describe('test builders', () => {
  it.each(ALL_STATUSES)('orderIn(%s) really reaches that status', (status) => {
    expect(orderIn(status).status).toBe(status);
  });
});

describe('a new order', () => {
  it('a paid order starts pending, at revision 1, waiting since its creation', () => {
    const state = newOrder({ paid: true });
    expect(state.status).toBe('pending');
    expect(state.modifiedRevision).toBe(1);
    expect(state.waitingSince).toBe(T0);
    expect(state.createdAt).toBe(T0);
    expect(state.lastModified).toBeNull();
    expect(state.timeline).toEqual([{ at: T0, event: 'created', to: 'pending' }]);
  });

  it('an unpaid order starts in await_payment', () => {
    const state = newOrder({ paid: false });
    expect(state.status).toBe('await_payment');
    expect(state.timeline).toEqual([{ at: T0, event: 'created', to: 'await_payment' }]);
  });

  it('starts with nothing shipped, held, canceled, stuck or flagged, and takes its number from the content', () => {
    const state = newOrderState({ orderId: 'o_9', merchantId: 'm_9', content: content({ orderNumber: 'X-9' }), createHash: 'hh', now: T0 });
    expect(state).toMatchObject({
      orderId: 'o_9',
      merchantId: 'm_9',
      orderNumber: 'X-9',
      createHash: 'hh',
      heldFrom: null,
      holdReason: null,
      cancelReason: null,
      servedToShipStation: false,
      shipped: {},
      shipments: [],
      stuck: null,
      flags: [],
    });
  });
});

describe('payment (await_payment -> pending)', () => {
  it('marking an unpaid order paid makes it pending and moves LastModified (unpaid -> paid)', () => {
    const state = orderIn('await_payment');
    expect(checkMarkPaid(state)).toBeNull();
    expect(applyMarkPaid(state, at(5))).toBe(true);
    expect(state.status).toBe('pending');
    expect(state.content.paid).toBe(true);
    expect(state.modifiedRevision).toBe(2);
    expect(state.waitingSince).toBe(at(5));
    expect(lastEntry(state)).toEqual({ at: at(5), event: 'paid', from: 'await_payment', to: 'pending' });
  });

  it('marking an order paid does not mutate the content object it was created with', () => {
    const original = content({ paid: false });
    const state = newOrderState({ orderId: 'o', merchantId: 'm', content: original, createHash: 'h', now: T0 });
    applyMarkPaid(state, at(1));
    expect(original.paid).toBe(false);
    expect(state.content.paid).toBe(true);
  });

  it('marking a paid order paid again changes nothing', () => {
    const state = orderIn('pending');
    const before = snapshot(state);
    expect(checkMarkPaid(state)).toBeNull();
    expect(applyMarkPaid(state, at(5))).toBe(false);
    expect(state).toEqual(before);
  });

  it('marking a canceled order paid is refused', () => {
    expect(checkMarkPaid(orderIn('canceled'))).toBe('the order is canceled');
  });

  it.each(ALL_STATUSES.filter((s) => s !== 'canceled'))('marking paid is not refused in %s', (status) => {
    expect(checkMarkPaid(orderIn(status))).toBeNull();
  });

  it('paying an order held while unpaid keeps it on hold, without moving LastModified, and it is released to pending', () => {
    const state = orderIn('await_payment');
    applyHold(state, 'fraud check', at(1));
    const revision = state.modifiedRevision;
    expect(applyMarkPaid(state, at(2))).toBe(true);
    expect(state.status).toBe('on_hold');
    expect(state.heldFrom).toBe('pending');
    expect(state.content.paid).toBe(true);
    expect(state.modifiedRevision).toBe(revision);
    expect(lastEntry(state)).toEqual({ at: at(2), event: 'paid' });

    applyRelease(state, at(3));
    expect(state.status).toBe('pending');
  });

  it('paying an unpaid order that ShipStation already partly shipped keeps it at_wms', () => {
    const state = orderIn('await_payment');
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(1));
    expect(state.status).toBe('at_wms');
    expect(applyMarkPaid(state, at(2))).toBe(true);
    expect(state.status).toBe('at_wms');
    expect(state.content.paid).toBe(true);
  });
});

describe('export (pending -> at_wms)', () => {
  it('serving a pending order to ShipStation makes it at_wms without moving LastModified', () => {
    const state = orderIn('pending');
    expect(applyExported(state, at(5))).toBe(true);
    expect(state.status).toBe('at_wms');
    expect(state.servedToShipStation).toBe(true);
    expect(state.modifiedRevision).toBe(1);
    expect(state.waitingSince).toBe(at(5));
    expect(lastEntry(state)).toEqual({ at: at(5), event: 'exported', from: 'pending', to: 'at_wms' });
  });

  it('a repeated export of an order already at_wms changes nothing', () => {
    const state = orderIn('at_wms');
    const before = snapshot(state);
    expect(applyExported(state, at(9))).toBe(false);
    expect(state).toEqual(before);
  });

  it('an export of an unpaid order is ignored: it was not served as a paid order', () => {
    const state = orderIn('await_payment');
    const before = snapshot(state);
    expect(applyExported(state, at(5))).toBe(false);
    expect(state).toEqual(before);
  });

  it('an export while held from pending keeps the hold and makes release go to at_wms', () => {
    const state = orderIn('on_hold');
    expect(state.heldFrom).toBe('pending');
    const revision = state.modifiedRevision;
    expect(applyExported(state, at(5))).toBe(true);
    expect(state.status).toBe('on_hold');
    expect(state.heldFrom).toBe('at_wms');
    expect(state.servedToShipStation).toBe(true);
    expect(state.modifiedRevision).toBe(revision);
    expect(lastEntry(state)).toEqual({ at: at(5), event: 'exported', detail: 'served while on hold' });

    applyRelease(state, at(6));
    expect(state.status).toBe('at_wms');
  });

  it('an export while held from at_wms changes nothing', () => {
    const state = orderIn('at_wms');
    applyHold(state, 'x', at(2));
    const before = snapshot(state);
    expect(applyExported(state, at(3))).toBe(false);
    expect(state).toEqual(before);
  });

  it('the first export of an order canceled before it was served is recorded once, status stays canceled', () => {
    const state = orderIn('canceled');
    expect(applyExported(state, at(5))).toBe(true);
    expect(state.status).toBe('canceled');
    expect(state.servedToShipStation).toBe(true);
    expect(applyExported(state, at(6))).toBe(false);
  });

  it('an export clears a "not exported" stuck mark', () => {
    const state = orderIn('pending');
    applyStuck(state, 'not_exported', at(300));
    applyExported(state, at(301));
    expect(state.stuck).toBeNull();
  });
});

describe('hold and release', () => {
  it.each(['await_payment', 'pending', 'at_wms'] as const)(
    'an order in %s can be held, moving LastModified, and is released back to where it came from',
    (from) => {
      const state = orderIn(from);
      const revision = state.modifiedRevision;
      expect(checkHold(state)).toBeNull();
      expect(applyHold(state, 'customer called', at(10))).toBe(true);
      expect(state.status).toBe('on_hold');
      expect(state.heldFrom).toBe(from);
      expect(state.holdReason).toBe('customer called');
      expect(state.modifiedRevision).toBe(revision + 1);
      expect(state.waitingSince).toBe(at(10));
      expect(lastEntry(state)).toEqual({ at: at(10), event: 'held', from, to: 'on_hold', detail: 'customer called' });

      expect(checkRelease(state)).toBeNull();
      expect(applyRelease(state, at(20))).toBe(true);
      expect(state.status).toBe(from);
      expect(state.heldFrom).toBeNull();
      expect(state.holdReason).toBeNull();
      expect(state.modifiedRevision).toBe(revision + 2);
      expect(state.waitingSince).toBe(at(20));
      expect(lastEntry(state)).toEqual({ at: at(20), event: 'released', from: 'on_hold', to: from });
    },
  );

  it('holding an order already on hold is accepted and changes nothing (the first reason stays)', () => {
    const state = orderIn('on_hold');
    const before = snapshot(state);
    expect(checkHold(state)).toBeNull();
    expect(applyHold(state, 'second reason', at(5))).toBe(false);
    expect(state).toEqual(before);
    expect(state.holdReason).toBe('address check');
  });

  it.each(['shipped', 'confirmed'] as const)('holding a %s order is refused because it has shipped', (status) => {
    expect(checkHold(orderIn(status))).toBe(`the order has already shipped (status ${status})`);
  });

  it('holding a canceled order is refused', () => {
    expect(checkHold(orderIn('canceled'))).toBe('the order is canceled');
  });

  it.each(ALL_STATUSES.filter((s) => s !== 'on_hold'))('releasing an order in %s is refused: it is not on hold', (status) => {
    expect(checkRelease(orderIn(status))).toBe(`the order is not on hold (status ${status})`);
  });

  // ShipStation was served it as Awaiting Payment / On Hold, never as a paid order: it still waits for
  // its first paid export.
  it('an order held while unpaid, served meanwhile and then paid is released to pending', () => {
    const state = orderIn('await_payment');
    applyHold(state, 'x', at(1));
    expect(applyExported(state, at(2))).toBe(false);
    expect(state.heldFrom).toBe('await_payment');
    applyMarkPaid(state, at(3));
    expect(state.heldFrom).toBe('pending');
    applyRelease(state, at(4));
    expect(state.status).toBe('pending');
  });

  it('an order held without a recorded origin is released to pending', () => {
    const state = orderIn('on_hold');
    state.heldFrom = null;
    applyRelease(state, at(5));
    expect(state.status).toBe('pending');
  });

  it('an order held without a recorded origin but with a shipped package is released to at_wms', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(2));
    applyHold(state, 'x', at(3));
    state.heldFrom = null;
    applyRelease(state, at(4));
    expect(state.status).toBe('at_wms');
  });

  it('holding a stuck order clears the stuck mark', () => {
    const state = orderIn('at_wms');
    applyStuck(state, 'no_shipment', at(5000));
    applyHold(state, 'x', at(5001));
    expect(state.stuck).toBeNull();
  });
});

describe('cancel', () => {
  it.each(['await_payment', 'pending', 'at_wms', 'on_hold'] as const)(
    'an order in %s with nothing shipped can be canceled, moving LastModified',
    (from) => {
      const state = orderIn(from);
      const revision = state.modifiedRevision;
      expect(checkCancel(state)).toBeNull();
      expect(applyCancel(state, 'customer changed mind', at(10))).toBe(true);
      expect(state.status).toBe('canceled');
      expect(state.cancelReason).toBe('customer changed mind');
      expect(state.heldFrom).toBeNull();
      expect(state.modifiedRevision).toBe(revision + 1);
      expect(lastEntry(state)).toEqual({ at: at(10), event: 'canceled', from, to: 'canceled', detail: 'customer changed mind' });
    },
  );

  it('canceling a canceled order is accepted and changes nothing', () => {
    const state = orderIn('canceled');
    const before = snapshot(state);
    expect(checkCancel(state)).toBeNull();
    expect(applyCancel(state, 'again', at(9))).toBe(false);
    expect(state).toEqual(before);
    expect(state.cancelReason).toBe('customer asked');
  });

  it('cancel is refused once a package shipped, and the reason names its tracking number', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ trackingNumber: '1Z999AA10123456784', items: [{ lineId: 'L1', quantity: 1 }] }), at(2));
    expect(state.status).toBe('at_wms');
    expect(checkCancel(state)).toBe('a package has already shipped (tracking 1Z999AA10123456784); it can no longer be canceled');
  });

  it('cancel is refused after a package shipped without tracking number, and the reason says so without one', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ trackingNumber: undefined, items: [{ lineId: 'L1', quantity: 1 }] }), at(2));
    expect(checkCancel(state)).toBe('a package has already shipped; it can no longer be canceled');
  });

  it('cancel is refused for a held order that has a package shipped', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ trackingNumber: 'T-1', items: [{ lineId: 'L2', quantity: 1 }] }), at(2));
    applyHold(state, 'x', at(3));
    expect(checkCancel(state)).toMatch(/already shipped \(tracking T-1\)/);
  });

  it.each(['shipped', 'confirmed'] as const)('cancel is refused for a %s order', (status) => {
    expect(checkCancel(orderIn(status))).toMatch(/^a package has already shipped .*; it can no longer be canceled$/);
  });

  // The design allows cancel only "while no shipment is recorded": a package left, whatever it held.
  it('cancel is refused after a recorded shipment even if its items matched no line', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ sku: 'UNKNOWN', quantity: 1 }] }), at(2));
    expect(state.shipments).toHaveLength(1);
    expect(checkCancel(state)).toMatch(/already shipped/);
  });
});

describe('shipments', () => {
  it.each(ALL_STATUSES)('a shipment is accepted and recorded in %s', (status) => {
    const state = orderIn(status);
    const count = state.shipments.length;
    expect(applyShipmentReported(state, report({ shipmentKey: 'extra' }), at(50))).toBe('recorded');
    expect(state.shipments).toHaveLength(count + 1);
    expect(state.shipments.at(-1)?.shipmentKey).toBe('extra');
  });

  it('a shipment record keeps what was reported and when it was recorded', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(
      state,
      {
        shipmentKey: 'k1',
        carrier: 'FedEx',
        service: 'Ground',
        trackingNumber: '7489',
        shipDate: '2024-03-02',
        labelCreatedAt: '2024-03-02T08:00:00.000Z',
        shippingCost: '7.25',
        reportedVia: 'api',
      },
      at(30),
    );
    expect(state.shipments).toEqual([
      {
        shipmentKey: 'k1',
        carrier: 'FedEx',
        service: 'Ground',
        trackingNumber: '7489',
        shipDate: '2024-03-02',
        labelCreatedAt: '2024-03-02T08:00:00.000Z',
        shippingCost: '7.25',
        itemsFingerprint: 'all',
        lines: [
          { lineId: 'L1', quantity: 2 },
          { lineId: 'L2', quantity: 1 },
        ],
        reportedVia: 'api',
        recordedAt: at(30),
        confirmationDeliveredAt: null,
      },
    ]);
    expect(state.shipped).toEqual({ L1: 2, L2: 1 });
  });

  it('a shipment record leaves out optional fields that were not reported', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, { shipmentKey: 'k', carrier: 'Other', reportedVia: 'shipnotify' }, at(3));
    const record = state.shipments[0]!;
    for (const key of ['service', 'trackingNumber', 'shipDate', 'labelCreatedAt', 'shippingCost']) {
      expect(record).not.toHaveProperty(key);
    }
  });

  it('a recorded shipment leaves a timeline line with carrier, tracking and unit count', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ carrier: 'USPS', trackingNumber: '9400', items: [{ lineId: 'L1', quantity: 2 }] }), at(4));
    expect(state.timeline).toContainEqual({ at: at(4), event: 'shipment recorded', detail: 'USPS 9400, 2 unit(s)' });
  });

  it('a duplicate notice records one shipment', () => {
    const state = orderIn('at_wms');
    expect(applyShipmentReported(state, report({ shipmentKey: 'same', items: [{ lineId: 'L1', quantity: 1 }] }), at(2))).toBe('recorded');
    const before = snapshot(state);
    expect(applyShipmentReported(state, report({ shipmentKey: 'same', items: [{ lineId: 'L1', quantity: 1 }] }), at(3))).toBe('duplicate');
    expect(state).toEqual(before);
    expect(state.shipments).toHaveLength(1);
    expect(state.shipped).toEqual({ L1: 1 });
  });

  it('a duplicate is recognised by its shipment key and items, whatever else it says (carrier, item order)', () => {
    const state = orderIn('at_wms');
    const items = [{ lineId: 'L1', quantity: 1 }, { sku: 'TEE', quantity: 1 }];
    applyShipmentReported(state, report({ shipmentKey: 'same', items }), at(2));
    const before = snapshot(state);
    expect(applyShipmentReported(state, report({ shipmentKey: 'same', carrier: 'DHL', items: [{ sku: 'tee', quantity: 1 }, { lineId: 'L1', quantity: 1 }] }), at(3))).toBe('duplicate');
    expect(state).toEqual(before);
  });

  it('a repeated shipment key with other items is flagged once, with a timeline note; the first notice stands', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ shipmentKey: 'same', trackingNumber: '1Z9', items: [{ lineId: 'L1', quantity: 1 }] }), at(2));
    expect(applyShipmentReported(state, report({ shipmentKey: 'same', trackingNumber: '1Z9', items: [{ lineId: 'L2', quantity: 1 }] }), at(3))).toBe('items_differ');
    expect(state.flags).toEqual([{ code: 'shipment_items_differ', at: at(3), detail: "package 1Z9 was reported again with other items (1 x L2); the first notice's items stand" }]);
    expect(lastEntry(state)).toMatchObject({ event: 'flagged', detail: expect.stringContaining('shipment_items_differ') });
    expect(state.shipments).toHaveLength(1);
    expect(state.shipped).toEqual({ L1: 1 });
    // The same differing notice again flags nothing more.
    expect(applyShipmentReported(state, report({ shipmentKey: 'same', trackingNumber: '1Z9', items: [{ lineId: 'L2', quantity: 1 }] }), at(4))).toBe('duplicate');
    expect(state.flags).toHaveLength(1);
    // A notice naming no items contradicts nothing: a plain repeat.
    expect(applyShipmentReported(state, report({ shipmentKey: 'same', trackingNumber: '1Z9' }), at(5))).toBe('duplicate');
    // A shipment recorded before fingerprints were kept has none: a repeat is then a plain one.
    delete state.shipments[0]!.itemsFingerprint;
    expect(applyShipmentReported(state, report({ shipmentKey: 'same', items: [{ lineId: 'L2', quantity: 2 }] }), at(6))).toBe('duplicate');
  });

  it('a package first reported with no items is not contradicted by a repeat naming some', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ shipmentKey: 'all', trackingNumber: '1Z8' }), at(2));
    expect(applyShipmentReported(state, report({ shipmentKey: 'all', trackingNumber: '1Z8', items: [{ lineId: 'L1', quantity: 1 }] }), at(3))).toBe('duplicate');
    expect(state.flags).toEqual([]);
  });

  it('shipping every unit of an at_wms order makes it shipped and moves LastModified (paid -> shipped)', () => {
    const state = orderIn('at_wms');
    const revision = state.modifiedRevision;
    applyShipmentReported(state, report(), at(5));
    expect(state.status).toBe('shipped');
    expect(state.modifiedRevision).toBe(revision + 1);
    expect(state.waitingSince).toBe(at(5));
    expect(lastEntry(state)).toEqual({ at: at(5), event: 'all units shipped', from: 'at_wms', to: 'shipped' });
  });

  it('a partial shipment keeps the order at_wms, recorded and visible, without moving LastModified', () => {
    const state = orderIn('at_wms');
    const revision = state.modifiedRevision;
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(5));
    expect(state.status).toBe('at_wms');
    expect(state.modifiedRevision).toBe(revision);
    expect(state.shipments).toHaveLength(1);
    expect(state.shipped).toEqual({ L1: 1 });
    expect(lineViews(state).find((l) => l.lineId === 'L1')).toMatchObject({ ordered: 2, shipped: 1 });
  });

  it('partial shipments that together cover every unit make the order shipped on the last one', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(2));
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(3));
    expect(state.status).toBe('at_wms');
    applyShipmentReported(state, report({ items: [{ sku: 'tee', quantity: 1 }] }), at(4));
    expect(state.status).toBe('shipped');
    expect(state.shipments).toHaveLength(3);
  });

  it('a partial shipment clears a "no shipment" stuck mark', () => {
    const state = orderIn('at_wms');
    applyStuck(state, 'no_shipment', at(5000));
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(5001));
    expect(state.stuck).toBeNull();
  });

  it('a partial shipment of a pending order moves it to at_wms without moving LastModified', () => {
    const state = orderIn('pending');
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(5));
    expect(state.status).toBe('at_wms');
    expect(state.servedToShipStation).toBe(true);
    expect(state.modifiedRevision).toBe(1);
    expect(lastEntry(state)).toMatchObject({ event: 'partially shipped', from: 'pending', to: 'at_wms' });
  });

  it('a partial shipment of an unpaid order moves it to at_wms and moves LastModified (unpaid -> paid)', () => {
    const state = orderIn('await_payment');
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(5));
    expect(state.status).toBe('at_wms');
    expect(state.modifiedRevision).toBe(2);
  });

  it.each(['await_payment', 'pending'] as const)('shipping every unit of a %s order makes it shipped', (from) => {
    const state = orderIn(from);
    applyShipmentReported(state, report(), at(5));
    expect(state.status).toBe('shipped');
    expect(state.modifiedRevision).toBe(2);
  });

  it('a partial shipment while held from pending keeps the hold and makes release go to at_wms', () => {
    const state = orderIn('on_hold');
    const revision = state.modifiedRevision;
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(5));
    expect(state.status).toBe('on_hold');
    expect(state.heldFrom).toBe('at_wms');
    expect(state.holdReason).toBe('address check');
    expect(state.modifiedRevision).toBe(revision);
    applyRelease(state, at(6));
    expect(state.status).toBe('at_wms');
  });

  it('a partial shipment while held from await_payment makes release go to at_wms', () => {
    const state = orderIn('await_payment');
    applyHold(state, 'x', at(1));
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(2));
    expect(state.heldFrom).toBe('at_wms');
    applyRelease(state, at(3));
    expect(state.status).toBe('at_wms');
  });

  it('shipping every unit of a held order ends the hold: the order is shipped', () => {
    const state = orderIn('on_hold');
    applyShipmentReported(state, report(), at(5));
    expect(state.status).toBe('shipped');
    expect(state.heldFrom).toBeNull();
    expect(state.holdReason).toBeNull();
    expect(lastEntry(state)).toMatchObject({ event: 'all units shipped', from: 'on_hold', to: 'shipped' });
  });

  it('a shipment that covers no unit leaves a pending order pending', () => {
    const state = orderIn('pending');
    applyShipmentReported(state, report({ items: [{ sku: 'NOPE', quantity: 1 }] }), at(5));
    expect(state.status).toBe('pending');
    expect(state.servedToShipStation).toBe(false);
    expect(state.shipments).toHaveLength(1);
  });

  it('adjustment lines never count: shipping every product unit ships an order with a discount line', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 2 }, { lineId: 'L2', quantity: 1 }] }), at(5));
    expect(state.status).toBe('shipped');
    expect(state.shipped).not.toHaveProperty('D1');
  });

  it('adjustment lines are never shipped, even when a notice names them', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ lineId: 'D1', quantity: 1 }] }), at(5));
    expect(state.shipped).toEqual({});
    expect(state.status).toBe('at_wms');
    expect(state.flags.map((f) => f.code)).toEqual(['shipment_items_unmatched']);
  });

  it('a shipment on a canceled order is recorded, the status stays canceled and the order is flagged', () => {
    const state = orderIn('canceled');
    const revision = state.modifiedRevision;
    expect(applyShipmentReported(state, report({ trackingNumber: '1ZCANCEL' }), at(5))).toBe('recorded');
    expect(state.status).toBe('canceled');
    expect(state.shipments).toHaveLength(1);
    expect(state.shipped).toEqual({ L1: 2, L2: 1 });
    expect(state.modifiedRevision).toBe(revision);
    expect(state.flags).toEqual([
      { code: 'shipment_on_canceled_order', at: at(5), detail: 'shipment 1ZCANCEL reported after cancel' },
    ]);
    expect(lastEntry(state)).toEqual({
      at: at(5),
      event: 'flagged',
      detail: 'shipment_on_canceled_order: shipment 1ZCANCEL reported after cancel',
    });
  });

  it('a shipment without tracking on a canceled order is flagged by its shipment key', () => {
    const state = orderIn('canceled');
    applyShipmentReported(state, report({ shipmentKey: 'digest-abc', trackingNumber: undefined }), at(5));
    expect(state.flags[0]?.detail).toBe('shipment digest-abc reported after cancel');
  });

  it('units beyond what was still unshipped are flagged, not counted', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ lineId: 'L2', quantity: 3 }] }), at(5));
    expect(state.shipped).toEqual({ L2: 1 });
    expect(state.flags).toEqual([
      { code: 'shipment_beyond_ordered_quantity', at: at(5), detail: '2 unit(s) of L2 exceed what was still unshipped' },
    ]);
  });

  it('items matching no line are flagged by SKU, or as having neither id nor SKU', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ sku: 'GHOST', quantity: 1 }, { quantity: 2 }] }), at(5));
    expect(state.flags.map((f) => [f.code, f.detail])).toEqual([
      ['shipment_items_unmatched', '1 unit(s) of GHOST match no line of the order'],
      ['shipment_items_unmatched', '2 unit(s) of (no line id or SKU) match no line of the order'],
    ]);
  });

  it('an extra package after a shipped order keeps it shipped and its confirmation is awaited', () => {
    const state = orderIn('shipped');
    applyShipmentReported(state, report({ shipmentKey: 'extra' }), at(10));
    expect(state.status).toBe('shipped');
    applyConfirmationDelivered(state, 'whole', at(11));
    expect(state.status).toBe('shipped');
    applyConfirmationDelivered(state, 'extra', at(12));
    expect(state.status).toBe('confirmed');
  });

  it('an extra package after confirmation sends the order back to shipped without moving LastModified', () => {
    const state = orderIn('confirmed');
    const revision = state.modifiedRevision;
    applyShipmentReported(state, report({ shipmentKey: 'late' }), at(10));
    expect(state.status).toBe('shipped');
    expect(state.modifiedRevision).toBe(revision);
    expect(lastEntry(state)).toMatchObject({ event: 'shipment after confirmation', from: 'confirmed', to: 'shipped' });
    expect(state.flags.map((f) => f.code)).toContain('shipment_beyond_ordered_quantity');
    applyConfirmationDelivered(state, 'late', at(11));
    expect(state.status).toBe('confirmed');
  });
});

describe('confirmation (shipped -> confirmed)', () => {
  it('an order is confirmed when every shipment confirmation is delivered, not before, and LastModified stays', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ shipmentKey: 'a', items: [{ lineId: 'L1', quantity: 2 }] }), at(2));
    applyShipmentReported(state, report({ shipmentKey: 'b', items: [{ lineId: 'L2', quantity: 1 }] }), at(3));
    expect(state.status).toBe('shipped');
    const revision = state.modifiedRevision;

    expect(applyConfirmationDelivered(state, 'a', at(4))).toBe(true);
    expect(state.status).toBe('shipped');
    expect(state.shipments.find((s) => s.shipmentKey === 'a')?.confirmationDeliveredAt).toBe(at(4));

    expect(applyConfirmationDelivered(state, 'b', at(5))).toBe(true);
    expect(state.status).toBe('confirmed');
    expect(state.modifiedRevision).toBe(revision);
    expect(lastEntry(state)).toEqual({ at: at(5), event: 'confirmed', from: 'shipped', to: 'confirmed' });
  });

  it('a repeated confirmation changes nothing', () => {
    const state = orderIn('confirmed');
    const before = snapshot(state);
    expect(applyConfirmationDelivered(state, 'whole', at(9))).toBe(false);
    expect(state).toEqual(before);
  });

  it('a confirmation for an unknown shipment changes nothing', () => {
    const state = orderIn('shipped');
    const before = snapshot(state);
    expect(applyConfirmationDelivered(state, 'nope', at(9))).toBe(false);
    expect(state).toEqual(before);
  });

  it('a confirmation delivered while the order is partly shipped does not confirm it', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ shipmentKey: 'a', items: [{ lineId: 'L1', quantity: 1 }] }), at(2));
    expect(applyConfirmationDelivered(state, 'a', at(3))).toBe(true);
    expect(state.status).toBe('at_wms');
    applyShipmentReported(state, report({ shipmentKey: 'b' }), at(4));
    expect(state.status).toBe('shipped');
    applyConfirmationDelivered(state, 'b', at(5));
    expect(state.status).toBe('confirmed');
  });

  it('a confirmation for a shipment on a canceled order leaves it canceled', () => {
    const state = orderIn('canceled');
    applyShipmentReported(state, report({ shipmentKey: 'c' }), at(2));
    expect(applyConfirmationDelivered(state, 'c', at(3))).toBe(true);
    expect(state.status).toBe('canceled');
  });
});

describe('update order', () => {
  it.each(['await_payment', 'pending', 'on_hold'] as const)('an order in %s can be changed', (status) => {
    expect(checkUpdateOrder(orderIn(status), { shipTo: { name: 'Grace Hopper' } })).toBeNull();
  });

  it('an order at ShipStation must be put on hold before it is changed', () => {
    expect(checkUpdateOrder(orderIn('at_wms'), { shipTo: { name: 'G' } })).toBe(
      'the order is already at ShipStation; put it on hold before changing it',
    );
  });

  it.each(['shipped', 'confirmed', 'canceled'] as const)('an order in %s can no longer be changed', (status) => {
    expect(checkUpdateOrder(orderIn(status), { shipTo: { name: 'G' } })).toBe(`the order can no longer be changed (status ${status})`);
  });

  it('a change replaces the given fields, keeps the others, moves LastModified and names the fields in the timeline', () => {
    const state = orderIn('pending');
    const billTo = state.content.billTo;
    expect(applyUpdateOrder(state, { shipTo: { name: 'Grace' }, customerNotes: 'ring twice' }, at(5))).toBe(true);
    expect(state.content.shipTo).toEqual({ name: 'Grace' });
    expect(state.content.customerNotes).toBe('ring twice');
    expect(state.content.billTo).toBe(billTo);
    expect(state.status).toBe('pending');
    expect(state.modifiedRevision).toBe(2);
    expect(lastEntry(state)).toEqual({ at: at(5), event: 'changed', detail: 'customerNotes, shipTo' });
  });

  it('a change with no fields (or only undefined ones) changes nothing', () => {
    const state = orderIn('pending');
    const before = snapshot(state);
    expect(applyUpdateOrder(state, {}, at(5))).toBe(false);
    expect(applyUpdateOrder(state, { shipTo: undefined }, at(5))).toBe(false);
    expect(state).toEqual(before);
  });

  it('new lines without a new total recompute the total in cents', () => {
    const state = orderIn('pending');
    applyUpdateOrder(state, { lines: [line('L1', 'MUG', 3, { unitPrice: '0.10' }), discount('D1', '-0.05')] }, at(5));
    // 3 x 0.10 - 0.05 + 4.99 shipping + 1.20 tax
    expect(state.content.total).toBe('6.44');
  });

  it.each([
    [{ shippingAmount: '0.00' }, '26.20'],
    [{ taxAmount: '0.00' }, '29.99'],
  ] as const)('a new shipping or tax amount without a new total recomputes it (%j)', (changes, total) => {
    const state = orderIn('pending');
    expect(state.content.total).toBe('31.19');
    applyUpdateOrder(state, changes, at(5));
    expect(state.content.total).toBe(total);
  });

  it('a total given with the change is kept as given', () => {
    const state = orderIn('pending');
    applyUpdateOrder(state, { lines: [line('L1', 'MUG', 1)], total: '99.00' }, at(5));
    expect(state.content.total).toBe('99.00');
  });

  it('a change that touches no amount keeps the total', () => {
    const state = orderIn('pending', { total: '1.00' });
    applyUpdateOrder(state, { shipTo: { name: 'Grace' }, customerNotes: 'x' }, at(5));
    expect(state.content.total).toBe('1.00');
  });

  it('a change whose lines repeat a line id is refused', () => {
    const state = orderIn('pending');
    expect(checkUpdateOrder(state, { lines: [line('L1', 'MUG', 1), line('L1', 'MUG', 2)] })).toBe('line L1 appears twice');
  });

  it('a change may not take a line below the units already shipped, nor drop a shipped line', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 2 }] }), at(2));
    applyHold(state, 'edit', at(3));
    expect(checkUpdateOrder(state, { lines: [line('L1', 'MUG', 1), line('L2', 'TEE', 1)] })).toBe(
      'line L1 has 2 unit(s) shipped already; it cannot go below that',
    );
    expect(checkUpdateOrder(state, { lines: [line('L2', 'TEE', 1)] })).toBe('line L1 has 2 unit(s) shipped already; it cannot go below that');
    expect(checkUpdateOrder(state, { lines: [line('L1', 'MUG', 2), line('L2', 'TEE', 5)] })).toBeNull();
    expect(checkUpdateOrder(state, { lines: [line('L1', 'MUG', 3)] })).toBeNull();
  });

  it('a change that does not touch lines is not checked against shipped units', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 2 }] }), at(2));
    applyHold(state, 'edit', at(3));
    expect(checkUpdateOrder(state, { internalNotes: 'x' })).toBeNull();
  });

  // Lines may be cut down to what has already shipped while held; release must see that all is shipped.
  it('an order whose remaining lines are all shipped after a change is shipped once released', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 2 }] }), at(2));
    applyHold(state, 'drop the T-shirt', at(3));
    const changes = { lines: [line('L1', 'MUG', 2), discount('D1')] };
    expect(checkUpdateOrder(state, changes)).toBeNull();
    applyUpdateOrder(state, changes, at(4));
    applyRelease(state, at(5));
    expect(state.status).toBe('shipped');
  });
});

describe('stuck, retry and resend', () => {
  it('a stuck mark records reason and time once; a second one changes nothing', () => {
    const state = orderIn('pending');
    expect(applyStuck(state, 'not_exported', at(300))).toBe(true);
    expect(state.stuck).toEqual({ reason: 'not_exported', since: at(300) });
    expect(lastEntry(state)).toEqual({ at: at(300), event: 'stuck', detail: 'not_exported' });
    const before = snapshot(state);
    expect(applyStuck(state, 'no_shipment', at(400))).toBe(false);
    expect(state).toEqual(before);
  });

  it('a stuck mark does not move LastModified', () => {
    const state = orderIn('pending');
    applyStuck(state, 'not_exported', at(300));
    expect(state.modifiedRevision).toBe(1);
  });

  it.each(ALL_STATUSES)('retry is refused for an order in %s that is not stuck', (status) => {
    expect(checkRetry(orderIn(status))).toBe(`the order is not stuck (status ${status})`);
  });

  it('retry of an order that is not stuck changes nothing', () => {
    const state = orderIn('pending');
    const before = snapshot(state);
    expect(applyRetry(state, at(5))).toBe(false);
    expect(state).toEqual(before);
  });

  it.each([
    ['pending', 'not_exported'],
    ['at_wms', 'no_shipment'],
  ] as const)('retry of a %s order stuck as %s re-offers it: LastModified moves and the wait restarts', (status, reason) => {
    const state = orderIn(status);
    applyStuck(state, reason, at(5000));
    const revision = state.modifiedRevision;
    expect(checkRetry(state)).toBeNull();
    expect(applyRetry(state, at(5001))).toBe(true);
    expect(state.stuck).toBeNull();
    expect(state.status).toBe(status);
    expect(state.waitingSince).toBe(at(5001));
    expect(state.modifiedRevision).toBe(revision + 1);
    expect(lastEntry(state)).toEqual({ at: at(5001), event: 'retried', detail: `${reason}: re-offered to ShipStation` });
  });

  it('retry of an order stuck unpaid restarts the wait without re-offering it', () => {
    const state = orderIn('await_payment');
    applyStuck(state, 'unpaid_too_long', at(20_000));
    expect(applyRetry(state, at(20_001))).toBe(true);
    expect(state.stuck).toBeNull();
    expect(state.waitingSince).toBe(at(20_001));
    expect(state.modifiedRevision).toBe(1);
    expect(lastEntry(state)).toEqual({ at: at(20_001), event: 'retried', detail: 'unpaid_too_long' });
  });

  it.each(['shipped', 'confirmed'] as const)('resend is refused for a %s order', (status) => {
    expect(checkResend(orderIn(status))).toBe(`the order has already shipped (status ${status})`);
  });

  it.each(['await_payment', 'pending', 'at_wms', 'on_hold'] as const)('resend of a %s order re-offers it: LastModified moves', (status) => {
    const state = orderIn(status);
    const revision = state.modifiedRevision;
    expect(checkResend(state)).toBeNull();
    expect(applyResend(state, at(9))).toBe(true);
    expect(state.modifiedRevision).toBe(revision + 1);
    expect(state.status).toBe(status);
    expect(lastEntry(state)).toEqual({ at: at(9), event: 'resent', detail: 're-offered to ShipStation' });
  });

  it('every resend moves LastModified again', () => {
    const state = orderIn('at_wms');
    applyResend(state, at(9));
    applyResend(state, at(10));
    expect(state.modifiedRevision).toBe(3);
  });
});

describe('LastModified (modifiedRevision)', () => {
  it('the happy path moves it only when ShipStation’s category changes: unpaid -> paid -> (at_wms) -> shipped -> (confirmed)', () => {
    const state = orderIn('await_payment');
    const revisions = [state.modifiedRevision];
    applyMarkPaid(state, at(1));
    revisions.push(state.modifiedRevision);
    applyExported(state, at(2));
    revisions.push(state.modifiedRevision);
    applyShipmentReported(state, report({ shipmentKey: 'p' }), at(3));
    revisions.push(state.modifiedRevision);
    applyConfirmationDelivered(state, 'p', at(4));
    revisions.push(state.modifiedRevision);
    expect(state.status).toBe('confirmed');
    expect(revisions).toEqual([1, 2, 2, 3, 3]);
  });

  it('every status transition in a long life moves it exactly when the ShipStation category changes', () => {
    const state = orderIn('await_payment');
    const steps: (() => unknown)[] = [
      () => applyHold(state, 'a', at(1)),
      () => applyMarkPaid(state, at(2)),
      () => applyRelease(state, at(3)),
      () => applyExported(state, at(4)),
      () => applyHold(state, 'b', at(5)),
      () => applyRelease(state, at(6)),
      () => applyShipmentReported(state, report({ shipmentKey: 's1', items: [{ lineId: 'L1', quantity: 1 }] }), at(7)),
      () => applyShipmentReported(state, report({ shipmentKey: 's2' }), at(8)),
      () => applyConfirmationDelivered(state, 's1', at(9)),
      () => applyConfirmationDelivered(state, 's2', at(10)),
      () => applyShipmentReported(state, report({ shipmentKey: 's3' }), at(11)),
      () => applyConfirmationDelivered(state, 's3', at(12)),
    ];
    const seen: OrderStatus[] = [state.status];
    for (const step of steps) {
      const from = state.status;
      const revision = state.modifiedRevision;
      step();
      const moved = state.modifiedRevision - revision;
      expect(moved, `${from} -> ${state.status}`).toBe(categoryOf(from) === categoryOf(state.status) ? 0 : 1);
      seen.push(state.status);
    }
    expect(seen).toEqual([
      'await_payment',
      'on_hold',
      'on_hold',
      'pending',
      'at_wms',
      'on_hold',
      'at_wms',
      'at_wms',
      'shipped',
      'shipped',
      'confirmed',
      'shipped',
      'confirmed',
    ]);
  });

  it('a change of content moves it even without a status change', () => {
    const state = orderIn('on_hold');
    const revision = state.modifiedRevision;
    applyUpdateOrder(state, { shipTo: { name: 'New' } }, at(5));
    expect(state.modifiedRevision).toBe(revision + 1);
  });

  it('facts that ShipStation already knows do not move it', () => {
    const state = orderIn('at_wms');
    const revision = state.modifiedRevision;
    applyExported(state, at(2));
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(3));
    applyLateFact(state, at(4), 'late');
    expect(state.modifiedRevision).toBe(revision);
  });
});

describe('deadlines', () => {
  const ms = (iso: string) => Date.parse(iso);

  it('an unpaid order waits for payment until the await-payment deadline', () => {
    expect(currentDeadline(orderIn('await_payment'), DEADLINES)).toEqual({ reason: 'unpaid_too_long', at: ms(T0) + DEADLINES.awaitPaymentMs });
  });

  it('a pending order waits for the export until the export deadline', () => {
    expect(currentDeadline(orderIn('pending'), DEADLINES)).toEqual({ reason: 'not_exported', at: ms(T0) + DEADLINES.pendingExportMs });
  });

  it('a paid order counts its export deadline from the payment, not from creation', () => {
    const state = orderIn('await_payment');
    applyMarkPaid(state, at(600));
    expect(currentDeadline(state, DEADLINES)).toEqual({ reason: 'not_exported', at: ms(at(600)) + DEADLINES.pendingExportMs });
  });

  it('an order at ShipStation without a shipment waits until the shipment deadline, counted from the export', () => {
    const state = orderIn('at_wms');
    expect(currentDeadline(state, DEADLINES)).toEqual({ reason: 'no_shipment', at: ms(at(1)) + DEADLINES.atWmsShipmentMs });
  });

  it('an order at ShipStation with a shipped package has no deadline', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(2));
    expect(currentDeadline(state, DEADLINES)).toBeNull();
  });

  // "at_wms without a shipment": any recorded package ends that wait (an unmatched one is flagged instead).
  it('an order at ShipStation with a recorded shipment, even one that covered no unit, has no shipment deadline', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ sku: 'GHOST', quantity: 1 }] }), at(2));
    expect(state.flags.map((f) => f.code)).toContain('shipment_items_unmatched');
    expect(currentDeadline(state, DEADLINES)).toBeNull();
  });

  it('a shipped order waits against the confirmation deadline', () => {
    const state = orderIn('shipped');
    expect(currentDeadline(state, { ...DEADLINES, confirmationMs: 5000 })).toEqual({ reason: 'confirmation_undelivered', at: Date.parse(state.waitingSince) + 5000 });
  });

  it.each(['on_hold', 'confirmed', 'canceled'] as const)('an order in %s has no deadline', (status) => {
    expect(currentDeadline(orderIn(status), DEADLINES)).toBeNull();
  });

  it.each([
    ['await_payment', 'unpaid_too_long'],
    ['pending', 'not_exported'],
    ['at_wms', 'no_shipment'],
  ] as const)('a stuck %s order has no deadline until it is retried, then counts from the retry', (status, reason) => {
    const state = orderIn(status);
    applyStuck(state, reason as StuckReason, at(50_000));
    expect(currentDeadline(state, DEADLINES)).toBeNull();
    applyRetry(state, at(50_010));
    expect(currentDeadline(state, DEADLINES)?.at).toBeGreaterThan(ms(at(50_010)));
    expect(currentDeadline(state, DEADLINES)).toEqual({
      reason,
      at:
        ms(at(50_010)) +
        (status === 'await_payment' ? DEADLINES.awaitPaymentMs : status === 'pending' ? DEADLINES.pendingExportMs : DEADLINES.atWmsShipmentMs),
    });
  });

  it('a released order counts its deadline from the release', () => {
    const state = orderIn('on_hold');
    applyRelease(state, at(1000));
    expect(currentDeadline(state, DEADLINES)).toEqual({ reason: 'not_exported', at: ms(at(1000)) + DEADLINES.pendingExportMs });
  });

  it('each deadline uses its own setting', () => {
    const custom: OrderDeadlines = { awaitPaymentMs: 1, pendingExportMs: 2, atWmsShipmentMs: 3 };
    expect(currentDeadline(orderIn('await_payment'), custom)?.at).toBe(ms(T0) + 1);
    expect(currentDeadline(orderIn('pending'), custom)?.at).toBe(ms(T0) + 2);
    expect(currentDeadline(orderIn('at_wms'), custom)?.at).toBe(ms(at(1)) + 3);
  });
});

describe('late facts', () => {
  it('a fact after the order closed is flagged and noted', () => {
    const state = orderIn('confirmed');
    applyLateFact(state, at(99), 'a message arrived after close');
    expect(state.flags).toEqual([{ code: 'late_fact_after_close', at: at(99), detail: 'a message arrived after close' }]);
    expect(lastEntry(state)).toEqual({ at: at(99), event: 'flagged', detail: 'late_fact_after_close: a message arrived after close' });
    expect(state.status).toBe('confirmed');
  });
});

describe('order model helpers', () => {
  it('only confirmed and canceled are terminal', () => {
    expect(ALL_STATUSES.filter(isTerminal)).toEqual(['confirmed', 'canceled']);
  });

  it('the workflow id is built from merchant and order number', () => {
    expect(orderWorkflowId('m_1', 'A-1001')).toBe('order:m_1:A-1001');
  });

  it('line views show ordered and shipped units per line, zero when nothing shipped', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ items: [{ lineId: 'L1', quantity: 1 }] }), at(2));
    expect(lineViews(state)).toEqual([
      { lineId: 'L1', sku: 'MUG', name: 'MUG item', adjustment: false, ordered: 2, shipped: 1 },
      { lineId: 'L2', sku: 'TEE', name: 'TEE item', adjustment: false, ordered: 1, shipped: 0 },
      { lineId: 'D1', sku: '', name: 'Discount', adjustment: true, ordered: 1, shipped: 0 },
    ]);
  });

  it('canonical JSON is the same whatever the key order, and drops undefined fields', () => {
    const a = canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 'z' }], c: null }, u: undefined });
    const b = canonicalJson({ a: { c: null, d: [1, { x: 'z', y: 2 }] }, b: 1 });
    expect(a).toBe('{"a":{"c":null,"d":[1,{"x":"z","y":2}]},"b":1}');
    expect(b).toBe(a);
  });

  it('canonical JSON keeps array order (arrays are not sets)', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  // Like JSON.stringify, an undefined array element becomes null (not an empty slot, which is not JSON).
  it('canonical JSON of an array with an undefined element is still valid JSON', () => {
    expect(() => JSON.parse(canonicalJson([1, undefined]))).not.toThrow();
  });
});

describe('confirmation rejections', () => {
  it('a rejected confirmation stays a stuck reason across later status changes until retried or delivered', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ shipmentKey: 'p1', items: [{ lineId: 'L1', quantity: 1 }] }), at(2));
    expect(applyDeliveryRejected(state, 'p1', 'confirmation rejected: 400 bad payload', at(3))).toBe(true);
    expect(state.stuck).toMatchObject({ reason: 'confirmation_rejected', detail: 'confirmation rejected: 400 bad payload' });
    // More packages (partial, then the rest) change the status but must not hide the rejection.
    applyShipmentReported(state, report({ shipmentKey: 'p2', items: [{ lineId: 'L1', quantity: 1 }] }), at(4));
    expect(state.stuck?.reason).toBe('confirmation_rejected');
    applyShipmentReported(state, report({ shipmentKey: 'p3' }), at(5));
    expect(state.status).toBe('shipped');
    expect(state.stuck?.reason).toBe('confirmation_rejected');
    // Delivered after all: the rejection is gone.
    applyConfirmationDelivered(state, 'p1', at(6));
    expect(state.stuck).toBeNull();
    expect(state.shipments.find((s) => s.shipmentKey === 'p1')?.deliveryRejected).toBeUndefined();
  });

  it('retry clears recorded rejections so the confirmations are sent again', () => {
    const state = orderIn('at_wms');
    applyShipmentReported(state, report({ shipmentKey: 'p1' }), at(2));
    applyDeliveryRejected(state, 'p1', 'confirmation rejected: 403 nope', at(3));
    expect(applyRetry(state, at(4))).toBe(true);
    expect(state.stuck).toBeNull();
    expect(state.shipments[0]!.deliveryRejected).toBeUndefined();
  });

  it('a retry naming another stuck reason than the current one is refused', () => {
    const state = orderIn('pending');
    applyStuck(state, 'not_exported', at(3));
    expect(checkRetry(state, 'not_exported')).toBeNull();
    expect(checkRetry(state, 'confirmation_rejected')).toBe('the order is now stuck for not_exported, not confirmation_rejected');
  });
});
