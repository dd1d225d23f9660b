import type { OrderLine, ShipmentLine } from './order';

export interface RequestedItem {
  lineId?: string;
  sku?: string;
  quantity: number;
}

export interface Allocation {
  lines: ShipmentLine[];
  /** Requested units that matched no line, or exceeded what was still unshipped. */
  unallocated: { item: RequestedItem; quantity: number; why: 'no_matching_line' | 'already_shipped' }[];
}

/**
 * Which of the order's units one package covers. Lines are matched by LineItemID first, then by SKU
 * (case-insensitive; repeated SKUs fill in line order), and never beyond what is still unshipped.
 * No requested items means "everything still unshipped". Adjustment lines are never shipped.
 */
export function allocateShipment(
  lines: readonly OrderLine[],
  alreadyShipped: Readonly<Record<string, number>>,
  requested: readonly RequestedItem[] | undefined,
): Allocation {
  const remaining = new Map<string, number>();
  for (const line of lines) {
    if (!line.adjustment) remaining.set(line.lineId, Math.max(0, line.quantity - (alreadyShipped[line.lineId] ?? 0)));
  }
  const taken = new Map<string, number>();
  const take = (lineId: string, wanted: number) => {
    const left = remaining.get(lineId) ?? 0;
    const n = Math.min(left, wanted);
    if (n > 0) {
      remaining.set(lineId, left - n);
      taken.set(lineId, (taken.get(lineId) ?? 0) + n);
    }
    return n;
  };

  const unallocated: Allocation['unallocated'] = [];
  if (!requested) {
    for (const [lineId, left] of [...remaining]) take(lineId, left);
  } else {
    for (const item of requested) {
      let wanted = item.quantity;
      const byId = item.lineId ? lines.find((l) => l.lineId === item.lineId && !l.adjustment) : undefined;
      const candidates = byId
        ? [byId]
        : item.sku
          ? lines.filter((l) => !l.adjustment && l.sku.toLowerCase() === item.sku!.toLowerCase())
          : [];
      for (const line of candidates) {
        if (wanted === 0) break;
        wanted -= take(line.lineId, wanted);
      }
      if (wanted > 0) {
        unallocated.push({ item, quantity: wanted, why: candidates.length === 0 ? 'no_matching_line' : 'already_shipped' });
      }
    }
  }
  const shipmentLines = lines
    .filter((l) => taken.has(l.lineId))
    .map((l) => ({ lineId: l.lineId, quantity: taken.get(l.lineId)! }));
  return { lines: shipmentLines, unallocated };
}

/** True when every unit of every non-adjustment line is covered by recorded shipments. */
export function allUnitsShipped(lines: readonly OrderLine[], shipped: Readonly<Record<string, number>>): boolean {
  const shippable = lines.filter((l) => !l.adjustment);
  return shippable.length > 0 && shippable.every((l) => (shipped[l.lineId] ?? 0) >= l.quantity);
}

/** Tracking numbers arrive with spaces, dashes and mixed case; one package is one normalised number. */
export function normalizeTrackingNumber(tracking: string): string {
  return tracking.replace(/[\s-]/g, '').toUpperCase();
}

/**
 * A short digest of the items a notice asked for, whatever their order: two notices under one
 * shipment key with the same fingerprint describe the same package. No items ("everything still
 * unshipped") has a fingerprint of its own. SKUs compare case-insensitively, as lines match them.
 */
export function itemsFingerprint(items: readonly RequestedItem[] | undefined): string {
  if (!items) return 'all';
  const canonical = items
    .map((i) => JSON.stringify([i.lineId ?? null, i.sku?.toLowerCase() ?? null, i.quantity]))
    .sort()
    .join(',');
  return `${items.length}:${cyrb53(canonical).toString(36)}`;
}

/** A fast 53-bit string hash (public domain, cyrb53): pure JS, so the workflow bundle can use it. */
function cyrb53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
