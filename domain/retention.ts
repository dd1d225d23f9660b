/**
 * Personal-data retention (PERSONAL_DATA_DAYS): what the purge leaves of a closed order. Pure (no
 * I/O), so the rule can be unit-tested and read in one place; db/retention.ts applies it.
 *
 * What counts as personal data, field by field (everything not named here is kept):
 * - purged: the customer's code and e-mail (identify the person; the order source keeps its own
 *   customer link), both addresses except country and state, the customer notes and gift message
 *   (free text the customer wrote), the internal notes and custom fields (free text the merchant
 *   wrote about this customer and this order: we cannot know that it holds no name, phone or
 *   address), and in each shipment's notice details the recipient and every note and custom field.
 * - kept, because accounting and support need them and they do not identify a person: order
 *   number, ids, status, dates, currency, amounts, payment and shipping method, source, requested
 *   warehouse, the lines (SKU, name, quantities, prices, weights, options, image, location),
 *   shipments (carrier, service, tracking, dates, cost, line quantities), flags, hold and cancel
 *   reasons (operator text about the order), the timeline, and the address's country and state
 *   (sales tax and VAT are reported by destination jurisdiction; a state or country names no one).
 * - known trade-off: line options are kept (size, colour: which variant was shipped, needed for
 *   returns); a shop that puts personalisation text (an engraving) into options keeps that text.
 */
import type { Address, ShipmentNoticeDetails } from './order';

/** What stands where a name was: clearly not a real value, and still a non-empty string. */
export const REDACTED = '[redacted]';

/**
 * A purged address: the name replaced (Address requires one), country and state kept, everything
 * else (company, street, city, postal code, phone, e-mail) gone.
 */
export function redactAddress(address: Address): Address {
  return {
    name: REDACTED,
    ...(address.state !== undefined ? { state: address.state } : {}),
    ...(address.country !== undefined ? { country: address.country } : {}),
  };
}

/** The order columns that hold personal data, in the read model's shape (null = absent). */
export interface PersonalOrderFields {
  customerCode: string | null;
  customerEmail: string | null;
  billTo: Address;
  shipTo: Address;
  customerNotes: string | null;
  internalNotes: string | null;
  giftMessage: string | null;
  customFields: string[];
}

/** The personal fields of an order as they are after the purge. Applying it twice changes nothing. */
export function redactOrderFields(fields: PersonalOrderFields): PersonalOrderFields {
  return {
    customerCode: null,
    customerEmail: null,
    billTo: redactAddress(fields.billTo),
    shipTo: redactAddress(fields.shipTo),
    customerNotes: null,
    internalNotes: null,
    giftMessage: null,
    customFields: [],
  };
}

/**
 * A shipment's notice details after the purge: the recipient (name, company, street, city, postal
 * code...), the notes (to the customer, from the customer, internal) and custom fields are dropped;
 * whether ShipStation notified the customer and the requested warehouse stay (facts about the
 * shipment, not the person).
 */
export function redactNoticeDetails(details: ShipmentNoticeDetails): ShipmentNoticeDetails {
  return {
    ...(details.notifyCustomer !== undefined ? { notifyCustomer: details.notifyCustomer } : {}),
    ...(details.requestedWarehouse !== undefined ? { requestedWarehouse: details.requestedWarehouse } : {}),
  };
}
