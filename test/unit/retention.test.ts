/** The personal-data redaction rule (domain/retention.ts): what a purged order keeps. */
import { describe, expect, it } from 'vitest';
import { REDACTED, redactAddress, redactNoticeDetails, redactOrderFields, type PersonalOrderFields } from '../../domain/retention';
import { buildExportDocument, importProblem, type ExportOrder } from '../../domain/shipstation/export-xml';
import { TERMINAL_STATUSES } from '../../domain/order';
import { content } from './builders';

const FULL_ADDRESS = {
  name: 'Ada Lovelace',
  company: 'Analytical Engines Ltd',
  street1: '1 Main St',
  street2: 'Apt 2',
  city: 'Austin',
  state: 'TX',
  postalCode: '78701',
  country: 'US',
  phone: '555-0100',
  email: 'ada@example.com',
};

describe('redactAddress', () => {
  it('keeps only country and state, with a name that says it was redacted', () => {
    expect(redactAddress(FULL_ADDRESS)).toEqual({ name: REDACTED, state: 'TX', country: 'US' });
  });

  it('adds nothing the address did not have, and is idempotent', () => {
    expect(redactAddress({ name: 'Bob' })).toEqual({ name: REDACTED });
    const once = redactAddress(FULL_ADDRESS);
    expect(redactAddress(once)).toEqual(once);
  });

  it('no personal value survives anywhere in it', () => {
    const text = JSON.stringify(redactAddress(FULL_ADDRESS));
    for (const value of ['Ada', 'Lovelace', 'Analytical', 'Main St', 'Apt', 'Austin', '78701', '555-0100', 'ada@example.com']) {
      expect(text).not.toContain(value);
    }
  });
});

describe('redactOrderFields', () => {
  const fields: PersonalOrderFields = {
    customerCode: 'C-1',
    customerEmail: 'ada@example.com',
    billTo: FULL_ADDRESS,
    shipTo: { ...FULL_ADDRESS, name: 'Charles Babbage', country: 'GB', state: undefined },
    customerNotes: 'ring twice, ask for Ada',
    internalNotes: 'customer phoned from 555-0199',
    giftMessage: 'Happy birthday Charles!',
    customFields: ['vip', 'loyalty 12345'],
  };

  it('empties every personal field and redacts both addresses', () => {
    expect(redactOrderFields(fields)).toEqual({
      customerCode: null,
      customerEmail: null,
      billTo: { name: REDACTED, state: 'TX', country: 'US' },
      shipTo: { name: REDACTED, country: 'GB' },
      customerNotes: null,
      internalNotes: null,
      giftMessage: null,
      customFields: [],
    });
  });

  it('is idempotent', () => {
    const once = redactOrderFields(fields);
    expect(redactOrderFields(once)).toEqual(once);
  });

  it('a redacted order still goes through the export writer (the export itself leaves purged orders out)', () => {
    const r = redactOrderFields(fields);
    const order: ExportOrder = {
      ...content({ customer: {}, billTo: r.billTo, shipTo: r.shipTo, customFields: r.customFields }),
      orderId: 'o1',
      status: 'confirmed',
      lastModified: '2024-03-01T10:00:00.000Z',
    };
    // ShipStation could not ship to it, and says so instead of throwing.
    expect(importProblem(order)).toMatch(/no street/);
    expect(() => buildExportDocument([order], 1)).not.toThrow();
  });
});

describe('redactNoticeDetails', () => {
  it('drops the recipient, notes and custom fields; keeps the notify flag and warehouse', () => {
    expect(
      redactNoticeDetails({
        recipient: { name: 'Ada Lovelace', address1: '1 Main St', city: 'Austin', postalCode: '78701', country: 'US' },
        notifyCustomer: true,
        notesToCustomer: 'Thanks Ada!',
        customerNotes: 'ring twice',
        internalNotes: 'fragile',
        customFields: ['x'],
        requestedWarehouse: 'WH-1',
      }),
    ).toEqual({ notifyCustomer: true, requestedWarehouse: 'WH-1' });
  });

  it('an empty notice stays empty; twice is the same as once', () => {
    expect(redactNoticeDetails({})).toEqual({});
    const once = redactNoticeDetails({ recipient: { name: 'X' }, notifyCustomer: false });
    expect(once).toEqual({ notifyCustomer: false });
    expect(redactNoticeDetails(once)).toEqual(once);
  });
});

describe('which orders are due', () => {
  it('the closed statuses are the ones the purge index and query name literally', () => {
    // orders_personal_data_due_idx (db/schema.ts, migration 0001) and db/retention.ts write
    // "status in ('confirmed', 'canceled')" so the planner can match them; a change here needs both
    // changed and a new migration.
    expect([...TERMINAL_STATUSES].sort()).toEqual(['canceled', 'confirmed']);
  });
});
