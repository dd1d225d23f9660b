import { describe, expect, it } from 'vitest';
import { findViolations, type SoakFacts } from '../../soak/checks';

/** Two orders that went all the way, every fact agreeing. */
function clean(): SoakFacts {
  return {
    attempted: ['A', 'B'],
    created: ['A', 'B'],
    exported: new Set(['A', 'B']),
    notices: new Map([
      ['A', ['T-A']],
      ['B', ['T-B']],
    ]),
    lostNotices: [],
    orderStatus: new Map([
      ['A', 'confirmed'],
      ['B', 'confirmed'],
    ]),
    shipments: [
      { orderNumber: 'A', shipmentId: 1, trackingNumber: 'T-A' },
      { orderNumber: 'B', shipmentId: 2, trackingNumber: 'T-B' },
    ],
    workflows: new Map([
      ['A', { status: 'confirmed', shipments: 1 }],
      ['B', { status: 'confirmed', shipments: 1 }],
    ]),
    deliveries: [
      { shipmentId: 1, idempotencyKey: 'shipment-1', status: 500 },
      { shipmentId: 1, idempotencyKey: 'shipment-1', status: 200 },
      { shipmentId: 2, idempotencyKey: 'shipment-2', status: 200 },
    ],
  };
}

const kinds = (facts: SoakFacts) => findViolations(facts).map((v) => `${v.kind}: ${v.count}`);

describe('soak checks', () => {
  it('find nothing when every order is confirmed, shipped once and delivered under one key (retries included)', () => {
    expect(findViolations(clean())).toEqual([]);
  });

  it('name an order the read model or its workflow does not show confirmed', () => {
    const facts = clean();
    facts.orderStatus.set('A', 'shipped');
    facts.workflows.set('B', { status: 'at_wms', shipments: 1 });
    expect(kinds(facts)).toEqual(['order not confirmed in the read model: 1', 'order workflow not confirmed: 1']);
  });

  it('name an order the API never accepted', () => {
    const facts = clean();
    facts.attempted.push('C');
    expect(kinds(facts)).toEqual(['order the API never accepted: 1']);
  });

  it('name an order the export walk never served', () => {
    const facts = clean();
    facts.exported.delete('B');
    expect(kinds(facts)).toEqual(['order skipped by the export walk: 1']);
  });

  it('name a notice recorded twice, and one never recorded', () => {
    const facts = clean();
    facts.shipments.push({ orderNumber: 'A', shipmentId: 3, trackingNumber: 'T-A' });
    facts.deliveries.push({ shipmentId: 3, idempotencyKey: 'shipment-3', status: 200 });
    facts.shipments = facts.shipments.filter((s) => s.orderNumber !== 'B');
    facts.deliveries = facts.deliveries.filter((d) => d.shipmentId !== 2);
    expect(kinds(facts)).toEqual(['shipments differ from the distinct notices: 2']);
  });

  it('name a shipment never delivered, delivered under two keys, or a delivery of an unknown shipment', () => {
    const facts = clean();
    facts.deliveries = [
      { shipmentId: 1, idempotencyKey: 'shipment-1', status: 200 },
      { shipmentId: 1, idempotencyKey: 'other', status: 200 },
      { shipmentId: 9, idempotencyKey: 'shipment-9', status: 200 },
    ];
    expect(kinds(facts)).toEqual(['confirmation for an unknown shipment: 1', 'several idempotency keys for one shipment: 1', 'shipment confirmation never delivered: 1']);
  });

  it('name an order in the read model the soak never created, and a workflow it could not read', () => {
    const facts = clean();
    facts.orderStatus.set('Z', 'pending');
    facts.workflows.set('A', { error: 'not found' });
    expect(kinds(facts)).toEqual(['order workflow unreadable: 1', 'order in the read model the soak never created: 1']);
  });

  it('name a notice refused while its API process and PostgreSQL were up: ShipStation would not have sent it again', () => {
    const facts = clean();
    facts.lostNotices.push('B via api-2: 503 the order service is unavailable');
    expect(kinds(facts)).toEqual(['notice refused while its API process and PostgreSQL were up (lost: ShipStation does not resend): 1']);
  });
});
