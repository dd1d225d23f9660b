import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { ORDER_STATUSES, STATUS_MAPPING, type OrderLine } from '../../domain/order';
import {
  buildExportDocument,
  customerCode,
  importProblem,
  shipStationWeight,
  type ExportOrder,
} from '../../domain/shipstation/export-xml';
import { cdata, escapeXml, stripIllegalXmlChars, truncateCodePoints, xmlText } from '../../domain/shipstation/text';

const XSD = readFileSync(new URL('../../domain/shipstation/export.xsd', import.meta.url), 'utf8');

/** The statuses a merchant enters in ShipStation's five status fields (design doc, section 3). */
const SECTION_3_STATUSES = ['await_payment', 'new', 'at_wms', 'shipped', 'confirmed', 'canceled', 'on_hold'];

/** Validates documents against export.xsd with libxml2, in one run; one verdict per document. */
async function validate(documents: readonly string[]): Promise<{ valid: boolean; errors: string[] }[]> {
  const names = documents.map((_, i) => `doc${i}.xml`);
  const result = await validateXML({
    xml: documents.map((contents, i) => ({ fileName: names[i]!, contents })),
    schema: [XSD],
  });
  return names.map((name) => {
    const errors = result.errors.filter((e) => e.loc?.fileName === name).map((e) => e.message);
    return { valid: result.rawOutput.includes(`${name} validates`) && errors.length === 0, errors };
  });
}

async function validateOne(document: string) {
  const [verdict] = await validate([document]);
  return verdict!;
}

/** Reads a document back with a real XML parser: what ShipStation (and the packing slip) will see. */
function readBack(document: string) {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    ignoreDeclaration: true,
    parseTagValue: false,
    parseAttributeValue: false,
    isArray: (_name, jpath) => ['Orders.Order', 'Orders.Order.Items.Item', 'Orders.Order.Items.Item.Options.Option'].includes(String(jpath)),
  });
  return parser.parse(document) as { Orders: { '@pages': string; Order?: Record<string, any>[] } };
}

const onlyOrder = (document: string) => {
  const orders = readBack(document).Orders.Order ?? [];
  expect(orders).toHaveLength(1);
  return orders[0]!;
};

const exportOf = (order: ExportOrder) => onlyOrder(buildExportDocument([order], 1));

function line(overrides: Partial<OrderLine> = {}): OrderLine {
  return { lineId: 'L1', sku: 'MUG', name: 'Mug', quantity: 1, unitPrice: '10.00', options: [], adjustment: false, ...overrides };
}

/** The smallest order ShipStation can import. */
function minimalOrder(overrides: Partial<ExportOrder> = {}): ExportOrder {
  return {
    orderId: 'ord_1',
    orderNumber: '1001',
    status: 'pending',
    lastModified: '2024-03-01T10:00:00.000Z',
    orderDate: '2024-03-01T09:00:00.000Z',
    paid: true,
    currency: 'USD',
    customer: {},
    billTo: { name: 'Ada Lovelace' },
    shipTo: { name: 'Ada Lovelace', street1: '1 Main St', city: 'Austin', country: 'US' },
    lines: [line()],
    shippingAmount: '0.00',
    taxAmount: '0.00',
    total: '10.00',
    gift: false,
    customFields: [],
    ...overrides,
  };
}

/**
 * An order as a European shop sends it: every field filled, options, a discount line, HTML entities,
 * `]]>`, a control character, emoji and non-ASCII names.
 */
function realisticOrder(overrides: Partial<ExportOrder> = {}): ExportOrder {
  return {
    orderId: 'ord_01HZX3K9',
    orderNumber: 'EU-20240229-17',
    status: 'pending',
    lastModified: '2024-03-01T10:15:42.123Z',
    orderDate: '2024-02-29T23:05:59.000Z',
    paid: true,
    currency: 'EUR',
    source: 'Shopify',
    shippingMethod: 'Colissimo Expert',
    paymentMethod: 'Credit card',
    customer: { code: 'CUST-77', email: 'jose@example.com' },
    billTo: {
      name: 'Zoë Ångström',
      company: 'Smith &amp; Söhne GmbH',
      street1: 'Königstraße 5',
      street2: '3. OG',
      city: 'München',
      state: 'BY',
      postalCode: '80331',
      country: 'DE',
      phone: '+49 89 123456',
      email: 'billing@example.com',
    },
    shipTo: {
      name: 'José Müller-Łukasiewicz',
      company: 'Ben &amp; Jerry&#39;s',
      street1: '12 Rue de l’Église',
      street2: 'Bâtiment B, 3ᵉ étage',
      city: 'Paris',
      state: 'Île-de-France',
      postalCode: '75004',
      country: 'FR',
      phone: '+33 1 23 45 67 89',
      email: 'jose.ship@example.com',
    },
    lines: [
      line({
        lineId: 'L1',
        sku: 'MUG-BLU-12',
        name: 'Mug "Café" <12 oz>',
        quantity: 2,
        unitPrice: '12.50',
        weight: { value: '0.45', unit: 'kg' },
        imageUrl: 'https://cdn.example.com/mug.png?v=2&amp;size=large',
        location: 'A-01-3',
        options: [
          { name: 'Colour', value: 'Bleu ciel' },
          { name: 'Engraving', value: 'Für Elise ♥ ]]> ok' },
        ],
      }),
      line({ lineId: 'L2', sku: 'TEE-M', name: 'T-shirt 😀', quantity: 1, unitPrice: '20.00', weight: { value: '6.5', unit: 'oz' } }),
      line({ lineId: 'D1', sku: '', name: 'Spring discount -10%', quantity: 1, unitPrice: '-4.50', adjustment: true }),
    ],
    shippingAmount: '5.90',
    taxAmount: '7.22',
    total: '53.62',
    customerNotes: 'Ring twice & leave it at the door]]> if nobody answers.\nMerci !',
    internalNotes: 'VIP\u0007 customer',
    gift: true,
    giftMessage: 'Joyeux anniversaire ! 🎉',
    customFields: ['wholesale', 'batch-7', 'Zürich'],
    requestedWarehouse: 'Paris DC',
    ...overrides,
  };
}

describe('XML text rules', () => {
  it('decodes HTML entities in source data, so &amp; reaches the packing slip as &', () => {
    expect(xmlText('Ben &amp; Jerry&#39;s')).toBe("Ben & Jerry's");
    expect(xmlText('&lt;b&gt;bold&lt;/b&gt; &eacute;t&eacute; &#x1F600;')).toBe('<b>bold</b> été 😀');
    expect(xmlText('Ben &amp Jerry')).toBe('Ben & Jerry');
  });

  it('decodes only once: text that was escaped twice keeps one level', () => {
    expect(xmlText('Fish &amp;amp; Chips')).toBe('Fish &amp; Chips');
  });

  it('leaves an ampersand that merely looks like the start of an entity as written', () => {
    expect(xmlText('AT&T')).toBe('AT&T');
    expect(xmlText('Tom&notes')).toBe('Tom&notes');
    expect(xmlText('https://img.example.com/a.png?w=1&copy=2')).toBe('https://img.example.com/a.png?w=1&copy=2');
  });

  it('strips control characters other than tab, CR and LF', () => {
    expect(xmlText('a\u0000b\u0001c\u0008d\u000Be\u000Cf\u001Fg\u007Fh\u0085i\u009Fj')).toBe('abcdefghij');
    expect(xmlText('line 1\r\n\tline 2\n')).toBe('line 1\r\n\tline 2\n');
  });

  it('strips lone surrogates, U+FFFE and U+FFFF, and keeps real surrogate pairs', () => {
    expect(stripIllegalXmlChars('a\uD800b\uDFFFc\uFFFEd\uFFFFe😀\u{10FFFF}')).toBe('abcde😀\u{10FFFF}');
    expect(stripIllegalXmlChars('ok \uFFFD')).toBe('ok \uFFFD');
  });

  it('strips a control character that arrives as a numeric entity', () => {
    expect(xmlText('a&#1;b&#x0B;c&#xFFFF;d')).toBe('abcd');
  });

  it('truncates by code point: an emoji counts once and is never cut in half', () => {
    expect(xmlText('😀😀😀', 2)).toBe('😀😀');
    expect(xmlText('ab😀c', 3)).toBe('ab😀');
    const text = 'x😀y🎉z👍';
    for (let max = 0; max <= 7; max++) {
      const cut = xmlText(text, max);
      expect([...cut].length).toBeLessThanOrEqual(max);
      expect(cut).not.toMatch(/\p{Cs}/u); // no half of a surrogate pair
      expect(text.startsWith(cut)).toBe(true);
    }
  });

  it('truncates accented letters as whole letters, precomposed or combined', () => {
    expect(xmlText('Zoë Ångström', 3)).toBe('Zoë');
    expect(xmlText('Ångström', 1)).toBe('Å');
    // e + COMBINING DIAERESIS is two code points but one letter: kept or dropped whole.
    expect(xmlText('Zoe\u0308!', 3)).toBe('Zo');
    expect(xmlText('Zoe\u0308!', 4)).toBe('Zoe\u0308');
  });

  it('keeps or drops an emoji sequence whole', () => {
    const family = '👨\u200D👩\u200D👧'; // 5 code points, one picture
    expect(xmlText(`ab${family}`, 6)).toBe('ab');
    expect(xmlText(`ab${family}`, 7)).toBe(`ab${family}`);
  });

  it('counts the limit after decoding and stripping', () => {
    expect(xmlText('&amp;&amp;&amp;', 2)).toBe('&&');
    expect(xmlText('\u0001\u0002ab', 2)).toBe('ab');
  });

  it('leaves text within the limit untouched', () => {
    expect(xmlText('José', 4)).toBe('José');
    expect(truncateCodePoints('', 0)).toBe('');
    expect(truncateCodePoints('abc', 3)).toBe('abc');
  });

  it('wraps text in CDATA and splits a ]]> across two sections', () => {
    expect(cdata('plain')).toBe('<![CDATA[plain]]>');
    expect(cdata('a]]>b')).toBe('<![CDATA[a]]]]><![CDATA[>b]]>');
    expect(cdata('')).toBe('<![CDATA[]]>');
  });

  it.each([['a]]>b'], [']]>'], [']]>]]>'], ['a]]'], [']]]>'], ['<![CDATA[x]]>'], ['<tag attr="1">&amp;</tag>']])(
    'a parser reads %j back unchanged from its CDATA',
    async (text) => {
      const document = `<?xml version="1.0" encoding="utf-8"?><t>${cdata(text)}</t>`;
      const c14n = await validateXML({ xml: document, normalization: 'c14n' });
      const expected = `<t>${text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')}</t>`;
      expect(c14n.normalized.trim()).toBe(expected);
    },
  );

  it('escapes the characters that XML gives meaning to, for values we write ourselves', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
  });
});

describe('line weights in ShipStation units', () => {
  it.each([
    ['0.5', 'kg', '500', 'Grams'],
    ['1.2345', 'kg', '1234.5', 'Grams'],
    ['1.005', 'kg', '1005', 'Grams'], // 1.005 * 1000 is 1004.9999999999999 in floats
    ['1.1', 'kg', '1100', 'Grams'], // and 1100.0000000000002
    ['2', 'kg', '2000', 'Grams'],
    ['0.0001', 'kg', '0.1', 'Grams'],
    ['0', 'kg', '0', 'Grams'],
    ['0.45', 'lb', '0.45', 'Pounds'],
    ['007.50', 'lb', '7.5', 'Pounds'],
    ['6.5', 'oz', '6.5', 'Ounces'],
    ['250', 'g', '250', 'Grams'],
  ] as const)('%s %s is %s %s', (value, unit, expected, units) => {
    expect(shipStationWeight({ value, unit })).toEqual({ value: expected, units });
  });

  it.each([['1,5'], ['-1'], ['1e3'], ['.5'], ['']])('refuses %j, which is not a non-negative decimal', (value) => {
    expect(() => shipStationWeight({ value, unit: 'kg' })).toThrow(RangeError);
  });
});

describe('CustomerCode', () => {
  it.each([
    ['the customer code', { customer: { code: 'C-9', email: 'a@example.com' } }, 'C-9'],
    ['else the customer e-mail', { customer: { email: 'a@example.com' } }, 'a@example.com'],
    ['a blank code counts as none', { customer: { code: '  ', email: 'a@example.com' } }, 'a@example.com'],
    [
      'else the ship-to e-mail',
      { customer: {}, shipTo: { name: 'Ada', street1: '1 Main St', city: 'Austin', country: 'US', email: 's@example.com' } },
      's@example.com',
    ],
    ['else the order number', { customer: {} }, '1001'],
  ] as const)('is %s', (_why, overrides, expected) => {
    const order = minimalOrder(overrides as Partial<ExportOrder>);
    expect(customerCode(order)).toBe(expected);
    expect(exportOf(order).Customer.CustomerCode).toBe(expected);
  });

  it('is cut to 50 characters', () => {
    const email = `${'x'.repeat(60)}@example.com`;
    expect(exportOf(minimalOrder({ customer: { email } })).Customer.CustomerCode).toBe('x'.repeat(50));
  });
});

describe('the export document', () => {
  it('an empty window is a valid document with pages="1" and no orders', async () => {
    const document = buildExportDocument([], 1);
    expect(document).toBe('<?xml version="1.0" encoding="utf-8"?>\n<Orders pages="1"></Orders>\n');
    expect(await validateOne(document)).toEqual({ valid: true, errors: [] });
  });

  it('starts with the UTF-8 declaration and carries the window page count', () => {
    const document = buildExportDocument([minimalOrder()], 3);
    expect(document.startsWith('<?xml version="1.0" encoding="utf-8"?>\n<Orders pages="3">')).toBe(true);
    expect(readBack(document).Orders['@pages']).toBe('3');
  });

  it.each([[0], [-1], [1.5], [Number.NaN]])('refuses a page count of %s', (pages) => {
    expect(() => buildExportDocument([], pages)).toThrow(RangeError);
  });

  it('writes every field of a realistic order, text decoded, cleaned and in its ShipStation form', () => {
    const document = buildExportDocument([realisticOrder()], 1);
    expect(onlyOrder(document)).toEqual({
      OrderID: 'ord_01HZX3K9',
      OrderNumber: 'EU-20240229-17',
      OrderDate: '02/29/2024 23:05',
      OrderStatus: 'new',
      LastModified: '03/01/2024 10:15',
      ShippingMethod: 'Colissimo Expert',
      PaymentMethod: 'Credit card',
      CurrencyCode: 'EUR',
      OrderTotal: '53.62',
      TaxAmount: '7.22',
      ShippingAmount: '5.90',
      CustomerNotes: 'Ring twice & leave it at the door]]> if nobody answers.\nMerci !',
      InternalNotes: 'VIP customer',
      Gift: 'true',
      GiftMessage: 'Joyeux anniversaire ! 🎉',
      CustomField1: 'wholesale',
      CustomField2: 'batch-7',
      CustomField3: 'Zürich',
      RequestedWarehouse: 'Paris DC',
      Source: 'Shopify',
      Customer: {
        CustomerCode: 'CUST-77',
        BillTo: {
          Name: 'Zoë Ångström',
          Company: 'Smith & Söhne GmbH',
          Address1: 'Königstraße 5',
          Address2: '3. OG',
          City: 'München',
          State: 'BY',
          PostalCode: '80331',
          Country: 'DE',
          Phone: '+49 89 123456',
          Email: 'billing@example.com',
        },
        ShipTo: {
          Name: 'José Müller-Łukasiewicz',
          Company: "Ben & Jerry's",
          Address1: '12 Rue de l’Église',
          Address2: 'Bâtiment B, 3ᵉ étage',
          City: 'Paris',
          State: 'Île-de-France',
          PostalCode: '75004',
          Country: 'FR',
          Phone: '+33 1 23 45 67 89',
        },
      },
      Items: {
        Item: [
          {
            LineItemID: 'L1',
            SKU: 'MUG-BLU-12',
            Name: 'Mug "Café" <12 oz>',
            ImageUrl: 'https://cdn.example.com/mug.png?v=2&size=large',
            Weight: '450',
            WeightUnits: 'Grams',
            Quantity: '2',
            UnitPrice: '12.50',
            Location: 'A-01-3',
            Adjustment: 'false',
            Options: {
              Option: [
                { Name: 'Colour', Value: 'Bleu ciel' },
                { Name: 'Engraving', Value: 'Für Elise ♥ ]]> ok' },
              ],
            },
          },
          {
            LineItemID: 'L2',
            SKU: 'TEE-M',
            Name: 'T-shirt 😀',
            Weight: '6.5',
            WeightUnits: 'Ounces',
            Quantity: '1',
            UnitPrice: '20.00',
            Adjustment: 'false',
          },
          {
            LineItemID: 'D1',
            SKU: '',
            Name: 'Spring discount -10%',
            Quantity: '1',
            UnitPrice: '-4.50',
            Adjustment: 'true',
          },
        ],
      },
    });
  });

  it('puts free text in CDATA and our own values as plain text', () => {
    const document = buildExportDocument([realisticOrder()], 1);
    expect(document).toContain('<CustomerNotes><![CDATA[Ring twice & leave it at the door]]]]><![CDATA[> if nobody answers.');
    expect(document).toContain('<Name><![CDATA[Mug "Café" <12 oz>]]></Name>');
    expect(document).toContain('<OrderTotal>53.62</OrderTotal>');
    expect(document).toContain('<OrderDate>02/29/2024 23:05</OrderDate>');
    expect(document).toContain('<Gift>true</Gift>');
  });

  it('a realistic order and a minimal one validate against export.xsd, alone and together', async () => {
    const verdicts = await validate([
      buildExportDocument([realisticOrder()], 1),
      buildExportDocument([minimalOrder()], 1),
      buildExportDocument([realisticOrder(), minimalOrder({ orderId: 'ord_2', orderNumber: '1002', status: 'canceled' })], 4),
    ]);
    expect(verdicts).toEqual([
      { valid: true, errors: [] },
      { valid: true, errors: [] },
      { valid: true, errors: [] },
    ]);
  });

  it('a pending order is exported as new', () => {
    expect(exportOf(minimalOrder({ status: 'pending' })).OrderStatus).toBe('new');
  });

  it.each(ORDER_STATUSES.map((s) => [s]))('status %s is exported as its mapped string, one the merchant entered', (status) => {
    const exported = exportOf(minimalOrder({ status })).OrderStatus;
    expect(exported).toBe(STATUS_MAPPING[status].xml);
    expect(SECTION_3_STATUSES).toContain(exported);
  });

  it('dates are MM/dd/yyyy HH:mm in UTC, seconds dropped', () => {
    const order = exportOf(minimalOrder({ orderDate: '2024-12-31T23:30:00-02:00', lastModified: '2024-01-05T07:08:59.999Z' }));
    expect(order.OrderDate).toBe('01/01/2025 01:30');
    expect(order.LastModified).toBe('01/05/2024 07:08');
  });

  it('money is written with a dot and two places, exactly as the stored decimal string says', () => {
    const order = exportOf(
      minimalOrder({
        total: '999999999999.99',
        taxAmount: '0.10',
        shippingAmount: '0.00',
        lines: [line({ unitPrice: '1234567.80' }), line({ lineId: 'D1', sku: '', unitPrice: '-0.05', adjustment: true })],
      }),
    );
    expect(order.OrderTotal).toBe('999999999999.99');
    expect(order.TaxAmount).toBe('0.10');
    expect(order.ShippingAmount).toBe('0.00');
    expect(order.Items.Item.map((i: { UnitPrice: string }) => i.UnitPrice)).toEqual(['1234567.80', '-0.05']);
  });

  it('booleans are true and false', () => {
    const order = exportOf(minimalOrder({ gift: false, lines: [line({ adjustment: true })] }));
    expect(order.Gift).toBe('false');
    expect(order.Items.Item[0].Adjustment).toBe('true');
  });

  it('sends ShippingAmount and LineItemID always, even when zero or on an adjustment line without SKU', () => {
    const order = exportOf(minimalOrder({ shippingAmount: '0.00', lines: [line({ lineId: 'fee-1', sku: '', adjustment: true, unitPrice: '2.00' })] }));
    expect(order.ShippingAmount).toBe('0.00');
    expect(order.Items.Item[0]).toMatchObject({ LineItemID: 'fee-1', SKU: '' });
  });

  it('leaves out optional elements it has no data for', () => {
    const order = exportOf(minimalOrder({ currency: '', customFields: ['', 'second', '  '] }));
    for (const absent of ['ShippingMethod', 'PaymentMethod', 'CurrencyCode', 'CustomerNotes', 'InternalNotes', 'GiftMessage', 'RequestedWarehouse', 'Source', 'CustomField1', 'CustomField3']) {
      expect(order, absent).not.toHaveProperty(absent);
    }
    expect(order.CustomField2).toBe('second');
    expect(order.Customer.ShipTo).toEqual({ Name: 'Ada Lovelace', Address1: '1 Main St', City: 'Austin', Country: 'US' });
    expect(order.Items.Item[0]).not.toHaveProperty('Options');
    expect(order.Items.Item[0]).not.toHaveProperty('Weight');
  });

  it('sends the bill-to e-mail, and no e-mail in ShipTo, which has none in the format', () => {
    const order = exportOf(
      minimalOrder({
        billTo: { name: 'Ada', email: 'bill@example.com' },
        shipTo: { name: 'Ada', street1: '1 Main St', city: 'Austin', country: 'US', email: 'ship@example.com' },
      }),
    );
    expect(order.Customer.BillTo.Email).toBe('bill@example.com');
    expect(order.Customer.ShipTo).not.toHaveProperty('Email');
  });

  it('sends country and currency codes in upper case', () => {
    const order = exportOf(minimalOrder({ currency: 'usd', shipTo: { name: 'Ada', street1: '1 Main St', city: 'Austin', country: 'us' } }));
    expect(order.CurrencyCode).toBe('USD');
    expect(order.Customer.ShipTo.Country).toBe('US');
  });

  it('cuts free text to the length limits by code point, and the result is still valid', async () => {
    const order = minimalOrder({
      shipTo: { name: '😀'.repeat(150), street1: 'é'.repeat(250), city: 'Zürich', country: 'CH' },
      customerNotes: 'ü'.repeat(1200),
      customFields: ['x'.repeat(101)],
    });
    const document = buildExportDocument([order], 1);
    const exported = onlyOrder(document);
    expect(exported.Customer.ShipTo.Name).toBe('😀'.repeat(100));
    expect(exported.Customer.ShipTo.Address1).toBe('é'.repeat(200));
    expect(exported.CustomerNotes).toBe('ü'.repeat(1000));
    expect(exported.CustomField1).toBe('x'.repeat(100));
    expect(await validateOne(document)).toEqual({ valid: true, errors: [] });
  });

  it('leaves out an image URL too long to send rather than cutting it into a wrong address', () => {
    const order = exportOf(minimalOrder({ lines: [line({ imageUrl: `https://img.example.com/${'a'.repeat(500)}.png` })] }));
    expect(order.Items.Item[0]).not.toHaveProperty('ImageUrl');
  });

  it('strips characters illegal in XML, so the document stays parseable and valid', async () => {
    const document = buildExportDocument(
      [minimalOrder({ customerNotes: 'bad\u0000\u0001\u001B\uFFFF\uD800 chars', billTo: { name: 'Ada\u0008 Lovelace' } })],
      1,
    );
    const order = onlyOrder(document);
    expect(order.CustomerNotes).toBe('bad chars');
    expect(order.Customer.BillTo.Name).toBe('Ada Lovelace');
    expect(await validateOne(document)).toEqual({ valid: true, errors: [] });
  });

  it('sends keys exactly as stored, even when they look like HTML entities, so shipnotify finds them again', () => {
    const order = exportOf(minimalOrder({ orderNumber: 'R&amp;D-7', lines: [line({ lineId: 'a&lt;1', sku: 'B&amp;W' })] }));
    expect(order.OrderNumber).toBe('R&amp;D-7');
    expect(order.Items.Item[0]).toMatchObject({ LineItemID: 'a&lt;1', SKU: 'B&amp;W' });
  });

  it('writes what it is given, even an order importProblem refuses: leaving it out is the caller’s choice', () => {
    const refused = minimalOrder({ orderNumber: 'no-lines', lines: [] });
    expect(importProblem(refused)).not.toBeNull();
    const document = buildExportDocument([minimalOrder(), refused], 1);
    expect(readBack(document).Orders.Order!.map((o) => o.OrderNumber)).toEqual(['1001', 'no-lines']);
  });
});

describe('importProblem', () => {
  it('passes an order ShipStation can import', () => {
    expect(importProblem(minimalOrder())).toBeNull();
    expect(importProblem(realisticOrder())).toBeNull();
  });

  const shipTo = { name: 'Ada', street1: '1 Main St', city: 'Austin', country: 'US' };
  it.each([
    ['no ship-to country', { shipTo: { ...shipTo, country: undefined } }, 'the ship-to address has no country'],
    ['a blank ship-to country', { shipTo: { ...shipTo, country: '  ' } }, 'the ship-to address has no country'],
    ['a country that is not 2 letters', { shipTo: { ...shipTo, country: 'USA' } }, 'the ship-to country "USA" is not a 2-letter ISO 3166-1 code'],
    ['a bill-to country that is not 2 letters', { billTo: { name: 'Ada', country: 'Deutschland' } }, 'the bill-to country "Deutschland" is not'],
    ['no lines', { lines: [] }, 'the order has no lines'],
    ['no ship-to name', { shipTo: { ...shipTo, name: '  ' } }, 'the ship-to address has no name'],
    ['a ship-to name of control characters only', { shipTo: { ...shipTo, name: '\u0001\u0002' } }, 'the ship-to address has no name'],
    ['no bill-to name', { billTo: { name: '' } }, 'the bill-to address has no name'],
    ['no ship-to street', { shipTo: { ...shipTo, street1: undefined } }, 'the ship-to address has no street (Address1)'],
    ['no ship-to city', { shipTo: { ...shipTo, city: '' } }, 'the ship-to address has no city'],
    ['a US state that is not a 2-letter code', { shipTo: { ...shipTo, state: 'Texas' } }, 'the ship-to state "Texas" is not a 2-letter code, as ShipStation needs for US'],
    ['a CA state that is not a 2-letter code', { shipTo: { ...shipTo, country: 'CA', state: 'Q.C.' } }, 'needs for CA'],
    ['a one-letter state', { shipTo: { ...shipTo, country: 'FR', state: 'X' } }, 'the ship-to state "X" is shorter than 2 characters'],
    ['no order number', { orderNumber: '' }, 'the order number is empty'],
    ['an order number longer than 50', { orderNumber: '1'.repeat(51) }, 'is longer than 50 characters'],
    ['an order number XML cannot carry', { orderNumber: 'A\u0001' }, 'the order number "A\\u0001" contains characters XML cannot carry'],
    ['a line without id', { lines: [line({ lineId: '' })] }, 'line 1 id is empty'],
    ['a line id used twice', { lines: [line(), line()] }, 'line id "L1" is used by more than one line'],
    ['a SKU longer than 50', { lines: [line({ sku: 'S'.repeat(51) })] }, 'line 1 ("L1") SKU'],
    ['a line without name', { lines: [line({ name: ' ' })] }, 'line 1 ("L1") has no name'],
    ['a quantity of 0', { lines: [line({ quantity: 0 })] }, 'quantity 0 is not a whole number from 1 to 99999'],
    ['a quantity above 99999', { lines: [line({ quantity: 100_000 })] }, 'quantity 100000 is not'],
    ['a fractional quantity', { lines: [line({ quantity: 1.5 })] }, 'quantity 1.5 is not'],
    ['a unit price that is not money', { lines: [line({ unitPrice: '12.345' })] }, 'line 1 ("L1") unit price "12.345" is not an amount with two decimals'],
    ['a total that is not money', { total: '1,000.00' }, 'the order total "1,000.00" is not an amount'],
    ['a weight that is not a decimal', { lines: [line({ weight: { value: '1,5', unit: 'kg' } })] }, 'line 1 ("L1") weight "1,5" is not a non-negative decimal'],
    ['a weight in an unknown unit', { lines: [line({ weight: { value: '1', unit: 'stone' as never } })] }, 'weight unit "stone" is not lb, oz, g or kg'],
    ['a currency that is not 3 letters', { currency: 'US$' }, 'currency "US$" is not a 3-letter ISO 4217 code'],
    ['an order date that is not a date', { orderDate: 'soon' }, 'the order date "soon" is not a date'],
    ['a LastModified that is not a date', { lastModified: '' }, 'LastModified "" is not a date'],
    ['a date MM/dd/yyyy cannot write', { orderDate: '+010000-01-01T00:00:00Z' }, 'the order date "+010000-01-01T00:00:00Z" is outside the years 1000-9999'],
    ['a status without a ShipStation equivalent', { status: 'lost' as never }, 'status "lost" has no ShipStation equivalent'],
  ] as const)('refuses %s', (_what, overrides, reason) => {
    const problem = importProblem(minimalOrder(overrides as Partial<ExportOrder>));
    expect(problem).toContain(reason);
  });

  it('gives every reason at once, so the operators fix the order in one go', () => {
    const problem = importProblem(minimalOrder({ shipTo: { name: 'Ada' }, lines: [] }));
    expect(problem).toBe(
      'the ship-to address has no street (Address1); the ship-to address has no city; ' +
        'the ship-to address has no country (a 2-letter ISO 3166-1 code such as US); the order has no lines',
    );
  });

  it('accepts what ShipStation accepts: a missing state, an empty SKU, a negative discount, a lower-case country', () => {
    expect(
      importProblem(
        minimalOrder({
          shipTo: { name: 'Ada', street1: '1 Main St', city: 'Austin', country: 'us' },
          lines: [line(), line({ lineId: 'D1', sku: '', unitPrice: '-5.00', adjustment: true })],
        }),
      ),
    ).toBeNull();
  });

  it('agrees with export.xsd: what it refuses fails the schema, what it passes validates', async () => {
    const refused = [
      minimalOrder({ shipTo: { name: 'Ada', street1: '1 Main St', city: 'Austin' } }),
      minimalOrder({ lines: [] }),
      minimalOrder({ lines: [line({ quantity: 100_000 })] }),
      minimalOrder({ shipTo: { name: 'Ada', street1: '1 Main St', city: 'Austin', country: 'USA' } }),
    ];
    const passed = [minimalOrder(), realisticOrder(), realisticOrder({ status: 'on_hold', gift: false, giftMessage: undefined })];
    for (const order of refused) expect(importProblem(order)).not.toBeNull();
    for (const order of passed) expect(importProblem(order)).toBeNull();
    const verdicts = await validate([...refused, ...passed].map((order) => buildExportDocument([order], 1)));
    expect(verdicts.map((v) => v.valid)).toEqual([false, false, false, false, true, true, true]);
  });
});

describe('export.xsd', () => {
  /** Each case breaks one rule of the format in a valid document; libxml2's error must say what broke. */
  const mutations: [rule: string, from: string | RegExp, to: string, says: string][] = [
    ['Country is exactly 2 letters', '<Country><![CDATA[FR]]></Country>', '<Country><![CDATA[FRA]]></Country>', "'Country'"],
    ['Quantity is at least 1', '<Quantity>2</Quantity>', '<Quantity>0</Quantity>', "'Quantity'"],
    ['Quantity is at most 99999', '<Quantity>2</Quantity>', '<Quantity>100000</Quantity>', "'Quantity'"],
    ['Quantity is a whole number', '<Quantity>2</Quantity>', '<Quantity>1.5</Quantity>', "'Quantity'"],
    ['OrderStatus is a section 3 string', '<OrderStatus>new</OrderStatus>', '<OrderStatus>pending</OrderStatus>', "'OrderStatus'"],
    ['dates are MM/dd/yyyy HH:mm', '<OrderDate>02/29/2024 23:05</OrderDate>', '<OrderDate>2024-02-29T23:05:00Z</OrderDate>', "'OrderDate'"],
    ['months stop at 12', '<OrderDate>02/29/2024 23:05</OrderDate>', '<OrderDate>13/29/2024 23:05</OrderDate>', "'OrderDate'"],
    ['dates carry no seconds', '<LastModified>03/01/2024 10:15</LastModified>', '<LastModified>03/01/2024 10:15:42</LastModified>', "'LastModified'"],
    ['money has two places', '<OrderTotal>53.62</OrderTotal>', '<OrderTotal>53.6</OrderTotal>', "'OrderTotal'"],
    ['money has no thousands separator', '<OrderTotal>53.62</OrderTotal>', '<OrderTotal>1,053.62</OrderTotal>', "'OrderTotal'"],
    ['money uses a dot', '<TaxAmount>7.22</TaxAmount>', '<TaxAmount>7,22</TaxAmount>', "'TaxAmount'"],
    ['booleans are true or false', '<Gift>true</Gift>', '<Gift>1</Gift>', "'Gift'"],
    ['ShippingAmount is required', /\s*<ShippingAmount>5.90<\/ShippingAmount>/, '', 'Expected is ( ShippingAmount )'],
    ['OrderID is required', /\s*<OrderID>.*<\/OrderID>/, '', 'Expected is ( OrderID )'],
    ['each child of Order at most once', '<OrderTotal>53.62</OrderTotal>', '<OrderTotal>53.62</OrderTotal><OrderTotal>53.62</OrderTotal>', "'OrderTotal'"],
    ['WeightUnits are Pounds, Ounces or Grams', '<WeightUnits>Grams</WeightUnits>', '<WeightUnits>Kilograms</WeightUnits>', "'WeightUnits'"],
    ['weights are not negative', '<Weight>450</Weight>', '<Weight>-450</Weight>', "'Weight'"],
    ['names are at most 100 characters', '<![CDATA[José Müller-Łukasiewicz]]>', `<![CDATA[${'é'.repeat(101)}]]>`, "'Name'"],
    ['CustomerCode is at most 50 characters', '<CustomerCode><![CDATA[CUST-77]]>', `<CustomerCode><![CDATA[${'x'.repeat(51)}]]>`, "'CustomerCode'"],
    ['LineItemID is always sent', /\s*<LineItemID><!\[CDATA\[L1\]\]><\/LineItemID>/, '', 'Expected is ( LineItemID )'],
    ['CurrencyCode is 3 upper-case letters', '<CurrencyCode><![CDATA[EUR]]>', '<CurrencyCode><![CDATA[euro]]>', "'CurrencyCode'"],
    ['State is at least 2 characters', '<State><![CDATA[BY]]>', '<State><![CDATA[B]]>', "'State'"],
    ['Items holds at least one Item', /<Items>[\s\S]*<\/Items>/, '<Items></Items>', 'Expected is ( Item )'],
    ['ShipTo has no Email', '<Phone><![CDATA[+33 1 23 45 67 89]]></Phone>', '<Phone><![CDATA[+33 1 23 45 67 89]]></Phone><Email>x@example.com</Email>', "'Email'"],
    ['no unknown elements', '<Source>', '<Marketplace>x</Marketplace><Source>', "'Marketplace'"],
    ['Orders carries its page count', '<Orders pages="1">', '<Orders>', "'pages'"],
    ['the page count is at least 1', '<Orders pages="1">', '<Orders pages="0">', "'pages'"],
  ];

  const valid = buildExportDocument([realisticOrder()], 1);
  let verdicts: { valid: boolean; errors: string[] }[];

  beforeAll(async () => {
    verdicts = await validate([valid, ...mutations.map(([, from, to]) => valid.replace(from, to))]);
  });

  it('accepts the document the mutations start from', () => {
    expect(verdicts[0]).toEqual({ valid: true, errors: [] });
  });

  it.each(mutations.map(([rule], i) => [rule, i] as const))('refuses a document that breaks the rule: %s', (_rule, i) => {
    const [, from, to, says] = mutations[i]!;
    expect(valid.replace(from, to), 'the mutation must change the document').not.toBe(valid);
    const verdict = verdicts[i + 1]!;
    expect(verdict.valid).toBe(false);
    expect(verdict.errors.join('\n')).toContain(says);
  });
});
