/**
 * What the soak proves at the end, as pure functions of what it saw and what the database and the
 * workflows say: nothing lost, nothing recorded twice. Every broken promise is one violation line.
 */

export interface SoakFacts {
  /** Every order the soak set out to create, by order number. */
  attempted: string[];
  /** Those the API accepted (201, 200 or 202) before the client gave up. */
  created: string[];
  /** Order numbers the ShipStation simulator imported through the export walk. */
  exported: Set<string>;
  /** Distinct shipment notices accepted (200) per order number: their tracking numbers. */
  notices: Map<string, string[]>;
  /** Notices refused while the API process they reached and PostgreSQL were up (ShipStation would not resend them). */
  lostNotices: string[];
  /** The read model: each order's status. */
  orderStatus: Map<string, string>;
  /** The read model's shipments. */
  shipments: { orderNumber: string; shipmentId: number; trackingNumber: string | null }[];
  /** Each order workflow's own state (its `state` query), or why it could not be read. */
  workflows: Map<string, { status: string; shipments: number } | { error: string }>;
  /** Every confirmation the receiver was sent: the shipment it names, its Idempotency-Key, the answer. */
  deliveries: { shipmentId: number | null; idempotencyKey: string | null; status: number }[];
}

/** At most this many lines per kind of violation are listed (the count is always exact). */
const LISTED = 5;

export function findViolations(facts: SoakFacts): { kind: string; count: number; examples: string[] }[] {
  const found = new Map<string, string[]>();
  const violate = (kind: string, example: string) => {
    const list = found.get(kind) ?? [];
    list.push(example);
    found.set(kind, list);
  };
  for (const lost of facts.lostNotices) violate('notice refused while its API process and PostgreSQL were up (lost: ShipStation does not resend)', lost);
  const createdSet = new Set(facts.created);
  for (const number of facts.attempted) if (!createdSet.has(number)) violate('order the API never accepted', number);

  for (const number of facts.created) {
    const status = facts.orderStatus.get(number);
    if (status !== 'confirmed') violate('order not confirmed in the read model', `${number}: ${status ?? 'missing'}`);
    const workflow = facts.workflows.get(number);
    if (!workflow) violate('order workflow not checked', number);
    else if ('error' in workflow) violate('order workflow unreadable', `${number}: ${workflow.error}`);
    else if (workflow.status !== 'confirmed') violate('order workflow not confirmed', `${number}: ${workflow.status}`);
    if (!facts.exported.has(number)) violate('order skipped by the export walk', number);
  }
  for (const number of facts.orderStatus.keys()) {
    if (!createdSet.has(number)) violate('order in the read model the soak never created', number);
  }

  // Exactly one shipment per distinct notice, matched by tracking number.
  const shipmentsByOrder = new Map<string, { shipmentId: number; trackingNumber: string | null }[]>();
  for (const shipment of facts.shipments) {
    const list = shipmentsByOrder.get(shipment.orderNumber) ?? [];
    list.push(shipment);
    shipmentsByOrder.set(shipment.orderNumber, list);
  }
  for (const number of facts.created) {
    const sent = [...new Set(facts.notices.get(number) ?? [])].sort();
    const recorded = (shipmentsByOrder.get(number) ?? []).map((s) => s.trackingNumber ?? '').sort();
    if (sent.join(',') !== recorded.join(',')) violate('shipments differ from the distinct notices', `${number}: sent [${sent.join(', ')}], recorded [${recorded.join(', ')}]`);
    const workflow = facts.workflows.get(number);
    if (workflow && !('error' in workflow) && workflow.shipments !== sent.length) {
      violate('workflow shipments differ from the distinct notices', `${number}: ${workflow.shipments} in the workflow, ${sent.length} sent`);
    }
  }

  // Every shipment delivered to the receiver under exactly one Idempotency-Key.
  const keysByShipment = new Map<number, Set<string>>();
  const deliveredOk = new Set<number>();
  const known = new Set(facts.shipments.map((s) => s.shipmentId));
  for (const delivery of facts.deliveries) {
    if (delivery.shipmentId === null) {
      violate('confirmation without a shipment id', `Idempotency-Key ${delivery.idempotencyKey ?? '(none)'}`);
      continue;
    }
    if (!known.has(delivery.shipmentId)) violate('confirmation for an unknown shipment', String(delivery.shipmentId));
    const keys = keysByShipment.get(delivery.shipmentId) ?? new Set<string>();
    keys.add(delivery.idempotencyKey ?? '(none)');
    keysByShipment.set(delivery.shipmentId, keys);
    if (delivery.status >= 200 && delivery.status < 300) deliveredOk.add(delivery.shipmentId);
  }
  for (const shipment of facts.shipments) {
    if (!deliveredOk.has(shipment.shipmentId)) violate('shipment confirmation never delivered', `${shipment.orderNumber} shipment ${shipment.shipmentId}`);
    const keys = keysByShipment.get(shipment.shipmentId);
    if (keys && keys.size !== 1) violate('several idempotency keys for one shipment', `${shipment.shipmentId}: ${[...keys].join(', ')}`);
  }

  return [...found].map(([kind, examples]) => ({ kind, count: examples.length, examples: examples.slice(0, LISTED) }));
}
