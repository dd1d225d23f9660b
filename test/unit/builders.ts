/** Small builders for the pure-domain unit tests: orders, lines and shipment reports. */
import {
  applyCancel,
  applyConfirmationDelivered,
  applyExported,
  applyHold,
  applyShipmentReported,
  newOrderState,
} from '../../domain/lifecycle';
import type { OrderContent, OrderLine, OrderState, OrderStatus, ShipmentReport } from '../../domain/order';

export const T0 = '2024-03-01T10:00:00.000Z';

/** T0 plus `minutes`, as an ISO string: every step of a test gets its own, later, clock reading. */
export const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

export function line(lineId: string, sku: string, quantity: number, extra: Partial<OrderLine> = {}): OrderLine {
  return {
    lineId,
    sku,
    name: `${sku || lineId} item`,
    quantity,
    unitPrice: '10.00',
    options: [],
    adjustment: false,
    ...extra,
  };
}

export const discount = (lineId: string, amount = '-5.00'): OrderLine =>
  line(lineId, '', 1, { name: 'Discount', unitPrice: amount, adjustment: true });

/** Two product lines (L1: 2 x MUG, L2: 1 x TEE) and one discount line (D1). */
export const defaultLines = (): OrderLine[] => [line('L1', 'MUG', 2), line('L2', 'TEE', 1), discount('D1')];

export function content(overrides: Partial<OrderContent> = {}): OrderContent {
  return {
    orderNumber: 'A-1001',
    orderDate: '2024-02-29T09:30:00.000Z',
    paid: true,
    currency: 'USD',
    customer: { code: 'C-1', email: 'ada@example.com' },
    billTo: { name: 'Ada Lovelace' },
    shipTo: { name: 'Ada Lovelace', street1: '1 Main St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
    lines: defaultLines(),
    shippingAmount: '4.99',
    taxAmount: '1.20',
    total: '31.19',
    gift: false,
    customFields: [],
    ...overrides,
  };
}

export function newOrder(overrides: Partial<OrderContent> = {}): OrderState {
  return newOrderState({ orderId: 'o_1', merchantId: 'm_1', content: content(overrides), createHash: 'h_1', now: T0 });
}

let reportCounter = 0;
export function report(overrides: Partial<ShipmentReport> = {}): ShipmentReport {
  reportCounter++;
  return {
    shipmentKey: `pkg-${reportCounter}`,
    carrier: 'UPS',
    trackingNumber: `1Z${String(reportCounter).padStart(6, '0')}`,
    reportedVia: 'shipnotify',
    ...overrides,
  };
}

/** An order walked to `status` through the real apply functions (so its state is a reachable one). */
export function orderIn(status: OrderStatus, overrides: Partial<OrderContent> = {}): OrderState {
  switch (status) {
    case 'await_payment':
      return newOrder({ ...overrides, paid: false });
    case 'pending':
      return newOrder({ ...overrides, paid: true });
    case 'at_wms': {
      const state = orderIn('pending', overrides);
      applyExported(state, at(1));
      return state;
    }
    case 'on_hold': {
      const state = orderIn('pending', overrides);
      applyHold(state, 'address check', at(1));
      return state;
    }
    case 'shipped': {
      const state = orderIn('at_wms', overrides);
      applyShipmentReported(state, report({ shipmentKey: 'whole' }), at(2));
      return state;
    }
    case 'confirmed': {
      const state = orderIn('shipped', overrides);
      applyConfirmationDelivered(state, 'whole', at(3));
      return state;
    }
    case 'canceled': {
      const state = orderIn('pending', overrides);
      applyCancel(state, 'customer asked', at(1));
      return state;
    }
  }
}
