import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  isBlankNoticeBody,
  mergeNoticeWithQuery,
  orderReferences,
  parseShipNotice,
  readNotice,
  shipmentKeyFor,
  toShipmentReport,
  type ShipNotice,
} from '../../domain/shipstation/shipnotify';

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Parses and fails the test with the reason when the notice is refused. */
function parsed(xml: string): { notice: ShipNotice; warnings: string[] } {
  const result = parseShipNotice(xml);
  if (!result.ok) throw new Error(`expected the notice to parse, got: ${result.reason}`);
  return result;
}

function refusal(xml: string): string {
  const result = parseShipNotice(xml);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.notice)}`);
  return result.reason;
}

/** A ShipNotice document around the given children. */
const shipNotice = (children: string) => `<?xml version="1.0" encoding="utf-8"?>\n<ShipNotice>${children}</ShipNotice>`;

const FULL_NOTICE = `<?xml version="1.0" encoding="utf-8"?>
<ShipNotice>
  <OrderNumber>1001</OrderNumber>
  <OrderID><![CDATA[ord_01HZX3K]]></OrderID>
  <CustomerCode>jürgen@example.de</CustomerCode>
  <CustomerNotes><![CDATA[Bitte an der Tür abstellen — danke! <3]]></CustomerNotes>
  <InternalNotes>Fragile &amp; heavy</InternalNotes>
  <NotesToCustomer><![CDATA[  Merci, Café Ørsted  ]]></NotesToCustomer>
  <NotifyCustomer>true</NotifyCustomer>
  <LabelCreateDate>07/15/2024 16:05</LabelCreateDate>
  <ShipDate><![CDATA[07/16/2024]]></ShipDate>
  <Carrier>UPS</Carrier>
  <Service>UPS® Ground</Service>
  <TrackingNumber>1Z999AA10123456784</TrackingNumber>
  <ShippingCost><![CDATA[12.5]]></ShippingCost>
  <CustomField1>wholesale</CustomField1>
  <CustomField2></CustomField2>
  <CustomField3><![CDATA[batch 7]]></CustomField3>
  <Recipient>
    <Name>Jürgen Groß</Name>
    <Company><![CDATA[Groß & Söhne GmbH]]></Company>
    <Address1>Königstraße 12</Address1>
    <Address2/>
    <City>München</City>
    <State>BY</State>
    <PostalCode>80331</PostalCode>
    <Country>DE</Country>
  </Recipient>
  <RequestedWarehouse>Lager Süd</RequestedWarehouse>
  <Items>
    <Item>
      <LineItemID>L1</LineItemID>
      <SKU><![CDATA[00123]]></SKU>
      <Name>Kaffeebecher „Morgen“</Name>
      <Quantity>2</Quantity>
      <UPC>012345678905</UPC>
    </Item>
    <Item>
      <LineItemID><![CDATA[L2]]></LineItemID>
      <SKU>TEE-BLK-M</SKU>
      <Name><![CDATA[T-shirt, 黒, M]]></Name>
      <Quantity> 1 </Quantity>
    </Item>
  </Items>
  <MarketplaceData><Channel>ebay</Channel></MarketplaceData>
</ShipNotice>`;

describe('parseShipNotice: reading a notice', () => {
  it('reads every documented field of a realistic notice, CDATA or not, non-ASCII intact', () => {
    const { notice, warnings } = parsed(FULL_NOTICE);
    expect(notice).toStrictEqual({
      orderNumber: '1001',
      orderId: 'ord_01HZX3K',
      customerCode: 'jürgen@example.de',
      customerNotes: 'Bitte an der Tür abstellen — danke! <3',
      internalNotes: 'Fragile & heavy',
      notesToCustomer: 'Merci, Café Ørsted',
      notifyCustomer: true,
      labelCreatedAt: '2024-07-15T16:05:00.000Z',
      shipDate: '2024-07-16',
      carrier: 'UPS',
      service: 'UPS® Ground',
      trackingNumber: '1Z999AA10123456784',
      shippingCost: '12.50',
      customFields: ['wholesale', '', 'batch 7'],
      recipient: {
        name: 'Jürgen Groß',
        company: 'Groß & Söhne GmbH',
        address1: 'Königstraße 12',
        city: 'München',
        state: 'BY',
        postalCode: '80331',
        country: 'DE',
      },
      requestedWarehouse: 'Lager Süd',
      items: [
        { lineItemId: 'L1', sku: '00123', name: 'Kaffeebecher „Morgen“', upc: '012345678905', quantity: 2 },
        { lineItemId: 'L2', sku: 'TEE-BLK-M', name: 'T-shirt, 黒, M', quantity: 1 },
      ],
    });
    expect(warnings).toEqual([]);
  });

  it('keeps numeric-looking values as the exact strings sent', () => {
    const { notice } = parsed(
      shipNotice(`<OrderNumber>0001001</OrderNumber><OrderID>42</OrderID><Carrier>0017</Carrier>
        <TrackingNumber>9400111899223197428490</TrackingNumber><CustomField1>1e5</CustomField1>
        <Recipient><PostalCode>02134</PostalCode></Recipient>
        <Items><Item><SKU>00123</SKU><UPC>0036000291452</UPC><Quantity>1</Quantity></Item></Items>`),
    );
    expect(notice.orderNumber).toBe('0001001');
    expect(notice.orderId).toBe('42');
    expect(notice.carrier).toBe('0017');
    expect(notice.trackingNumber).toBe('9400111899223197428490');
    expect(notice.customFields).toEqual(['1e5']);
    expect(notice.recipient).toEqual({ postalCode: '02134' });
    expect(notice.items).toEqual([{ sku: '00123', upc: '0036000291452', quantity: 1 }]);
  });

  it('keeps a leading-zero SKU as a string with its zeros', () => {
    const { notice } = parsed(shipNotice('<Items><Item><SKU>000987</SKU><Quantity>3</Quantity></Item></Items>'));
    expect(notice.items?.[0]?.sku).toBe('000987');
    expect(typeof notice.items?.[0]?.sku).toBe('string');
  });

  it('decodes predefined entities and character references in text, but leaves CDATA as written', () => {
    const { notice } = parsed(
      shipNotice(`<CustomerNotes>Caf&#233; &#x4F;rsted &lt;b&gt; &quot;x&quot; &apos;y&apos; &amp;#65;</CustomerNotes>
        <InternalNotes><![CDATA[a &amp; b &#233;]]></InternalNotes>`),
    );
    expect(notice.customerNotes).toBe(`Café Orsted <b> "x" 'y' &#65;`);
    expect(notice.internalNotes).toBe('a &amp; b &#233;');
  });

  it('trims whitespace around values, inside CDATA too, and treats an empty element as absent', () => {
    const { notice } = parsed(
      shipNotice(`<Carrier>
        USPS
      </Carrier><Service><![CDATA[   ]]></Service><TrackingNumber/><CustomerNotes>  </CustomerNotes>`),
    );
    expect(notice).toStrictEqual({ carrier: 'USPS', customFields: [] });
  });

  it('ignores unknown extra elements', () => {
    const { notice, warnings } = parsed(shipNotice('<OrderNumber>7</OrderNumber><Foo>bar</Foo><Shipment><Bar>1</Bar></Shipment>'));
    expect(notice).toStrictEqual({ orderNumber: '7', customFields: [] });
    expect(warnings).toEqual([]);
  });

  it('keeps custom fields by position: an empty field before a filled one stays, trailing ones go', () => {
    expect(parsed(shipNotice('<CustomField2>b</CustomField2>')).notice.customFields).toEqual(['', 'b']);
    expect(parsed(shipNotice('<CustomField1>a</CustomField1><CustomField3/>')).notice.customFields).toEqual(['a']);
    expect(parsed(shipNotice('<CustomField1/><CustomField2></CustomField2>')).notice.customFields).toEqual([]);
  });

  it('leaves the recipient out when it is missing or has no values', () => {
    expect(parsed(shipNotice('')).notice.recipient).toBeUndefined();
    expect(parsed(shipNotice('<Recipient><Name/><City> </City></Recipient>')).notice.recipient).toBeUndefined();
  });

  it('uses the first of a repeated single-valued element and says so', () => {
    const { notice, warnings } = parsed(shipNotice('<TrackingNumber>A1</TrackingNumber><TrackingNumber>B2</TrackingNumber>'));
    expect(notice.trackingNumber).toBe('A1');
    expect(warnings).toEqual(['ShipNotice/TrackingNumber appears 2 times; the first is used']);
  });

  it('reads a body that starts with a UTF-8 byte-order mark', () => {
    const { notice } = parsed(`\uFEFF<?xml version="1.0" encoding="utf-8"?><ShipNotice><OrderNumber>1001</OrderNumber></ShipNotice>`);
    expect(notice.orderNumber).toBe('1001');
  });

  it('reads a body declared encoding="utf-16" that is really UTF-8 text', () => {
    const { notice } = parsed(
      '<?xml version="1.0" encoding="utf-16"?>\r\n<ShipNotice><OrderNumber>1001</OrderNumber><Recipient><Name>Zoë Ångström</Name></Recipient></ShipNotice>',
    );
    expect(notice.orderNumber).toBe('1001');
    expect(notice.recipient?.name).toBe('Zoë Ångström');
  });

  it('tolerates blank lines before the XML declaration', () => {
    expect(parsed('\r\n\n  <?xml version="1.0"?>\n<ShipNotice><OrderNumber>5</OrderNumber></ShipNotice>').notice.orderNumber).toBe('5');
  });

  it('reads an empty <ShipNotice/> as a notice with nothing in it', () => {
    expect(parsed('<ShipNotice/>').notice).toStrictEqual({ customFields: [] });
  });
});

describe('parseShipNotice: items', () => {
  it('a notice without Items has no items: everything still unshipped', () => {
    const { notice } = parsed(shipNotice('<OrderNumber>1001</OrderNumber>'));
    expect(notice.items).toBeUndefined();
    expect('items' in notice).toBe(false);
  });

  it.each([
    ['self-closing', '<Items/>'],
    ['open and close', '<Items></Items>'],
    ['whitespace only', '<Items>\n    \n  </Items>'],
  ])('a notice with empty Items (%s) has no items: everything still unshipped', (_, items) => {
    expect(parsed(shipNotice(items)).notice.items).toBeUndefined();
  });

  it('a single Item is still a list of one', () => {
    const { notice } = parsed(shipNotice('<Items><Item><LineItemID>L9</LineItemID><Quantity>4</Quantity></Item></Items>'));
    expect(notice.items).toEqual([{ lineItemId: 'L9', quantity: 4 }]);
  });

  it('repeated SKUs stay separate items, in document order', () => {
    const { notice } = parsed(
      shipNotice(`<Items>
        <Item><SKU>MUG</SKU><Name>Mug, red</Name><Quantity>1</Quantity></Item>
        <Item><SKU>MUG</SKU><Name>Mug, blue</Name><Quantity>2</Quantity></Item>
        <Item><SKU>mug</SKU><Quantity>3</Quantity></Item>
      </Items>`),
    );
    expect(notice.items).toEqual([
      { sku: 'MUG', name: 'Mug, red', quantity: 1 },
      { sku: 'MUG', name: 'Mug, blue', quantity: 2 },
      { sku: 'mug', quantity: 3 },
    ]);
  });

  it.each([
    ['0', 'has Quantity "0"'],
    ['-1', 'has Quantity "-1"'],
    ['1.5', 'has Quantity "1.5"'],
    ['2.0', 'has Quantity "2.0"'],
    ['two', 'has Quantity "two"'],
    ['99999999999999999999', 'has Quantity "99999999999999999999"'],
    ['', 'has no Quantity'],
  ])('refuses an Item whose Quantity is %j, naming the item', (quantity, problem) => {
    const reason = refusal(
      shipNotice(`<Items>
        <Item><LineItemID>L1</LineItemID><SKU>A</SKU><Quantity>1</Quantity></Item>
        <Item><LineItemID>L2</LineItemID><SKU>B-7</SKU><Quantity>${quantity}</Quantity></Item>
      </Items>`),
    );
    expect(reason).toBe(`Item 2 (LineItemID "L2", SKU "B-7") ${problem}; a quantity must be a whole number of at least 1`);
  });

  it('names an item without LineItemID or SKU by its Name, and one with nothing by position', () => {
    expect(refusal(shipNotice('<Items><Item><Name>Gift wrap</Name></Item></Items>'))).toMatch(/^Item 1 \(Name "Gift wrap"\) has no Quantity;/);
    expect(refusal(shipNotice('<Items><Item/></Items>'))).toMatch(/^Item 1 has no Quantity;/);
  });
});

describe('parseShipNotice: dates, flags and money', () => {
  it.each([
    ['07/15/2024 16:05', '2024-07-15T16:05:00.000Z'],
    ['7/5/2024 4:05 PM', '2024-07-05T16:05:00.000Z'],
    ['7/5/2024 12:30 AM', '2024-07-05T00:30:00.000Z'],
    ['12/31/2023 23:59:07', '2023-12-31T23:59:07.000Z'],
  ])('reads LabelCreateDate %j as %j (UTC)', (text, iso) => {
    expect(parsed(shipNotice(`<LabelCreateDate>${text}</LabelCreateDate>`)).notice.labelCreatedAt).toBe(iso);
  });

  it('leaves out a LabelCreateDate that is not a date, with a warning, and keeps the notice', () => {
    const { notice, warnings } = parsed(shipNotice('<OrderNumber>1</OrderNumber><LabelCreateDate>02/30/2024 10:00</LabelCreateDate>'));
    expect(notice).toStrictEqual({ orderNumber: '1', customFields: [] });
    expect(warnings).toEqual(['LabelCreateDate: "02/30/2024 10:00": day 30 does not exist in month 2 of 2024; it is left out']);
  });

  it.each([
    ['07/16/2024', '2024-07-16'],
    ['7/6/2024', '2024-07-06'],
    ['<![CDATA[12/01/2024]]>', '2024-12-01'],
  ])('reads ShipDate %j as the calendar day %j', (text, day) => {
    expect(parsed(shipNotice(`<ShipDate>${text}</ShipDate>`)).notice.shipDate).toBe(day);
  });

  it('leaves out a ShipDate that is not a date, with a warning', () => {
    const { notice, warnings } = parsed(shipNotice('<ShipDate>2024-07-16</ShipDate>'));
    expect(notice.shipDate).toBeUndefined();
    expect(warnings).toEqual(['ShipDate "2024-07-16" is not a date in the form MM/dd/yyyy; it is left out']);
  });

  it.each([
    ['true', true],
    ['false', false],
    ['TRUE', true],
    [' False ', false],
    ['', undefined],
  ])('reads NotifyCustomer %j as %j', (text, value) => {
    const { notice, warnings } = parsed(shipNotice(`<NotifyCustomer>${text}</NotifyCustomer>`));
    expect(notice.notifyCustomer).toBe(value);
    expect(warnings).toEqual([]);
  });

  it('leaves NotifyCustomer out when it is missing or neither true nor false', () => {
    expect(parsed(shipNotice('')).notice.notifyCustomer).toBeUndefined();
    const { notice, warnings } = parsed(shipNotice('<NotifyCustomer>yes</NotifyCustomer>'));
    expect(notice.notifyCustomer).toBeUndefined();
    expect(warnings).toEqual(['NotifyCustomer "yes" is neither true nor false; it is left out']);
  });

  it.each([
    ['12.5', '12.50'],
    ['0', '0.00'],
    ['7', '7.00'],
    ['4.9500', '4.95'],
    [' 3.10 ', '3.10'],
  ])('normalises ShippingCost %j to %j', (text, cost) => {
    expect(parsed(shipNotice(`<ShippingCost>${text}</ShippingCost>`)).notice.shippingCost).toBe(cost);
  });

  it.each(['$4.95', '4,95', '1,234.50', '4.956', 'n/a'])('leaves out ShippingCost %j with a warning rather than refuse the shipment', (text) => {
    const { notice, warnings } = parsed(shipNotice(`<TrackingNumber>T1</TrackingNumber><ShippingCost>${text}</ShippingCost>`));
    expect(notice).toStrictEqual({ trackingNumber: 'T1', customFields: [] });
    expect(warnings).toEqual([`ShippingCost "${text}" is not an amount with at most two decimals; it is left out`]);
  });
});

describe('parseShipNotice: refusals', () => {
  it('refuses a DOCTYPE (external entity, XXE) before parsing anything', () => {
    const reason = refusal(`<?xml version="1.0"?>
<!DOCTYPE ShipNotice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ShipNotice><CustomerNotes>&xxe;</CustomerNotes></ShipNotice>`);
    expect(reason).toMatch(/^the body contains a <!DOCTYPE declaration \(line 2\); DOCTYPE and ENTITY declarations are refused/);
    expect(reason).not.toMatch(/root:/);
  });

  it('refuses a DOCTYPE without entities, and in lower case', () => {
    expect(refusal('<!DOCTYPE ShipNotice><ShipNotice/>')).toMatch(/<!DOCTYPE declaration \(line 1\)/);
    expect(refusal('<!doctype ShipNotice><ShipNotice/>')).toMatch(/<!DOCTYPE declaration/);
  });

  it('refuses a billion-laughs entity expansion at once', () => {
    const lol = ['<!ENTITY lol "lol">'];
    for (let n = 1; n <= 9; n++) lol.push(`<!ENTITY lol${n} "${`&lol${n === 1 ? '' : n - 1};`.repeat(10)}">`);
    const xml = `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n${lol.join('\n')}\n]>\n<ShipNotice><CustomerNotes>&lol9;</CustomerNotes></ShipNotice>`;
    const started = Date.now();
    const reason = refusal(xml);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(reason).toMatch(/DOCTYPE and ENTITY declarations are refused/);
    expect(reason.length).toBeLessThan(400);
  });

  it('refuses an ENTITY declaration inside the document, which the XML validator lets through', () => {
    expect(refusal('<ShipNotice><!ENTITY x "boom"><CustomerNotes>&x;</CustomerNotes></ShipNotice>')).toMatch(
      /^the body contains a <!ENTITY declaration \(line 1\)/,
    );
  });

  it('does not mistake declaration-like text inside CDATA or a comment for a declaration', () => {
    const { notice } = parsed(
      shipNotice('<!-- <!DOCTYPE x> --><CustomerNotes><![CDATA[paste: <!DOCTYPE html><!ENTITY a "b">]]></CustomerNotes>'),
    );
    expect(notice.customerNotes).toBe('paste: <!DOCTYPE html><!ENTITY a "b">');
  });

  it('refuses a declaration hidden behind an unclosed CDATA section', () => {
    expect(refusal('<ShipNotice><A><![CDATA[ never closed <!DOCTYPE x [<!ENTITY y "z">]></A></ShipNotice>')).toMatch(
      /<!DOCTYPE declaration/,
    );
  });

  it('gives the parser reason, with line and column, for malformed XML', () => {
    expect(refusal('<ShipNotice>\n  <OrderNumber>1001</OrderNumber>\n  <Carrier>UPS</Service>\n</ShipNotice>')).toBe(
      "the body is not well-formed XML (line 3, column 15): Expected closing tag 'Carrier' (opened in line 3, col 3) instead of closing tag 'Service'.",
    );
  });

  it('counts lines of the body as received when blank lines precede the document', () => {
    expect(refusal('\n\n<ShipNotice>\n<A>x</B>\n</ShipNotice>')).toMatch(/^the body is not well-formed XML \(line 4, /);
  });

  it('refuses a form-encoded body: it is not XML', () => {
    expect(refusal('order_number=1001&carrier=UPS')).toMatch(/^the body is not well-formed XML \(line 1, column 1\): /);
  });

  it('refuses a document whose root is not ShipNotice', () => {
    expect(refusal('<?xml version="1.0"?><Orders pages="1"><Order/></Orders>')).toBe(
      'the root element is <Orders>; a shipnotify body must be a <ShipNotice> document',
    );
    expect(refusal('<shipnotice/>')).toBe('the root element is <shipnotice>; a shipnotify body must be a <ShipNotice> document');
  });

  it('refuses an empty body (the caller then uses the query alone)', () => {
    expect(refusal('')).toBe('the body is empty: there is no <ShipNotice> document to read');
    expect(refusal('\uFEFF \r\n')).toBe('the body is empty: there is no <ShipNotice> document to read');
  });

  it('refuses element names that would pollute object prototypes, and pollutes nothing', () => {
    expect(refusal('<ShipNotice><__proto__><polluted>yes</polluted></__proto__></ShipNotice>')).toMatch(/^the body could not be read as XML: /);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('isBlankNoticeBody', () => {
  it.each([
    ['', true],
    ['  \r\n\t', true],
    ['\uFEFF', true],
    ['\uFEFF\n', true],
    ['<ShipNotice/>', false],
    ['x', false],
  ])('%j is blank: %j', (body, blank) => {
    expect(isBlankNoticeBody(body)).toBe(blank);
  });
});

describe('mergeNoticeWithQuery', () => {
  const body = () =>
    parsed(shipNotice(`<OrderNumber>1001</OrderNumber><Carrier>UPS</Carrier><Service>UPS Ground</Service>
      <TrackingNumber>1ZBODY</TrackingNumber><Items><Item><SKU>A</SKU><Quantity>1</Quantity></Item></Items>`)).notice;

  it('takes carrier, service and tracking number from the query over the body', () => {
    const merged = mergeNoticeWithQuery(body(), { order_number: '1001', carrier: 'FedEx', service: 'FEDEX_GROUND', tracking_number: '7946 1234 5678' });
    expect(merged).toStrictEqual({
      orderNumber: '1001',
      carrier: 'FedEx',
      service: 'FEDEX_GROUND',
      trackingNumber: '7946 1234 5678',
      customFields: [],
      items: [{ sku: 'A', quantity: 1 }],
    });
  });

  it('keeps the body values the query leaves out or sends empty', () => {
    const merged = mergeNoticeWithQuery(body(), { order_number: '1001', carrier: 'USPS', service: '', tracking_number: '  ' });
    expect(merged.carrier).toBe('USPS');
    expect(merged.service).toBe('UPS Ground');
    expect(merged.trackingNumber).toBe('1ZBODY');
  });

  it('does not change the body OrderNumber, so the caller can still tell the two apart', () => {
    expect(mergeNoticeWithQuery(body(), { order_number: '2002' }).orderNumber).toBe('1001');
  });

  it('with an empty body the query alone makes the notice: everything still unshipped', () => {
    const merged = mergeNoticeWithQuery(null, { order_number: '1001', carrier: 'USPS', service: '', tracking_number: '9400 1000 0000' });
    expect(merged).toStrictEqual({ orderNumber: '1001', carrier: 'USPS', trackingNumber: '9400 1000 0000', customFields: [] });
    expect(merged.items).toBeUndefined();
  });

  it('a body without OrderNumber takes the query order_number', () => {
    expect(mergeNoticeWithQuery(parsed(shipNotice('<Carrier>UPS</Carrier>')).notice, { order_number: '77' }).orderNumber).toBe('77');
  });
});

describe('readNotice', () => {
  it('reads the body and merges the query over it, keeping the body notice and its warnings apart', () => {
    const reading = readNotice(shipNotice('<OrderNumber>1001</OrderNumber><Carrier>UPS</Carrier><ShipDate>13/45/2024</ShipDate>'), { carrier: 'FedEx' });
    if (!reading.ok) throw new Error(reading.reason);
    expect(reading.notice?.carrier).toBe('UPS');
    expect(reading.merged).toMatchObject({ orderNumber: '1001', carrier: 'FedEx' });
    expect(reading.warnings).toHaveLength(1);
  });

  it('takes an empty body (a byte-order mark and whitespace) as the query alone', () => {
    expect(readNotice('\uFEFF \n', { order_number: '1001', carrier: 'USPS' })).toStrictEqual({
      ok: true,
      notice: null,
      merged: { orderNumber: '1001', carrier: 'USPS', customFields: [] },
      warnings: [],
    });
  });

  it("refuses a body that does not parse with the parser's reason", () => {
    expect(readNotice('<Order/>', {})).toStrictEqual({ ok: false, reason: refusal('<Order/>') });
  });
});

describe('orderReferences', () => {
  it('lists body OrderID, then query order_number, then body OrderNumber', () => {
    const { notice } = parsed(shipNotice('<OrderID>ord_1</OrderID><OrderNumber>1001-A</OrderNumber>'));
    expect(orderReferences(notice, { order_number: '1001' })).toEqual([
      { by: 'orderId', value: 'ord_1', source: 'body OrderID' },
      { by: 'orderNumber', value: '1001', source: 'query order_number' },
      { by: 'orderNumber', value: '1001-A', source: 'body OrderNumber' },
    ]);
  });

  it('leaves out what is missing and what repeats an earlier candidate', () => {
    const { notice } = parsed(shipNotice('<OrderNumber>1001</OrderNumber>'));
    expect(orderReferences(notice, { order_number: ' 1001 ' })).toEqual([{ by: 'orderNumber', value: '1001', source: 'query order_number' }]);
    expect(orderReferences(null, { order_number: '' })).toEqual([]);
  });

  it('leaves out a reference holding a NUL, which no order has and the database cannot look up (found by fuzzing)', () => {
    const { notice } = parsed(shipNotice('<OrderNumber>1001</OrderNumber>'));
    expect(orderReferences(notice, { order_number: '1001\u0000' })).toEqual([{ by: 'orderNumber', value: '1001', source: 'body OrderNumber' }]);
    expect(orderReferences(null, { order_number: '\u0000' })).toEqual([]);
  });
});

describe('shipmentKeyFor', () => {
  const none: ShipNotice = { customFields: [] };

  it("a tracking number is the key, normalised: '1z 999-aa1' and '1Z999AA1' are the same package", () => {
    const spaced = shipmentKeyFor({ ...none, trackingNumber: '1z 999-aa1' }, sha256Hex('<a/>'), {});
    const plain = shipmentKeyFor(none, null, { tracking_number: '1Z999AA1' });
    expect(spaced).toBe('trk:1Z999AA1');
    expect(plain).toBe(spaced);
  });

  it('the query tracking number wins over the body one, as in the merged notice', () => {
    expect(shipmentKeyFor({ ...none, trackingNumber: 'BODY1' }, null, { tracking_number: 'query-2' })).toBe('trk:QUERY2');
  });

  it('without a tracking number, a non-empty body is keyed by its digest: the same body twice is one shipment', () => {
    const rawBody = shipNotice('<OrderNumber>1001</OrderNumber><Carrier>UPS</Carrier>');
    const first = shipmentKeyFor(parsed(rawBody).notice, sha256Hex(rawBody), { order_number: '1001' });
    const again = shipmentKeyFor(parsed(rawBody).notice, sha256Hex(rawBody), { order_number: '1001' });
    const other = shipmentKeyFor(parsed(rawBody + ' ').notice, sha256Hex(`${rawBody} `), { order_number: '1001' });
    expect(first).toBe(`body:${sha256Hex(rawBody)}`);
    expect(first).toMatch(/^body:[0-9a-f]{64}$/);
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });

  it('a tracking number that normalises to nothing does not count', () => {
    expect(shipmentKeyFor({ ...none, trackingNumber: ' - ' }, 'ABC123', {})).toBe('body:abc123');
  });

  it('with neither tracking number nor body, carrier|service|order_number is the key', () => {
    const key = shipmentKeyFor(mergeNoticeWithQuery(null, { order_number: '1001', carrier: 'UPS', service: 'Ground' }), null, {
      order_number: '1001',
      carrier: 'UPS',
      service: 'Ground',
    });
    expect(key).toBe('query:ups|ground|1001');
    expect(shipmentKeyFor(none, null, { order_number: '1001', carrier: ' ups ', service: 'GROUND' })).toBe(key);
    expect(shipmentKeyFor(none, null, { order_number: '1001', carrier: 'UPS', service: 'Next Day' })).not.toBe(key);
    expect(shipmentKeyFor(none, null, { order_number: '1002', carrier: 'UPS', service: 'Ground' })).not.toBe(key);
  });

  it('keeps the query key unambiguous and bounded whatever the parameters hold', () => {
    expect(shipmentKeyFor(none, null, { carrier: 'a|b', service: 'c' })).not.toBe(shipmentKeyFor(none, null, { carrier: 'a', service: 'b|c' }));
    expect(shipmentKeyFor(none, null, {})).toBe('query:||');
    expect(shipmentKeyFor(none, null, { carrier: 'x'.repeat(5000), service: 'é'.repeat(500) }).length).toBeLessThan(1000);
  });
});

describe('toShipmentReport', () => {
  it('maps the package to a ShipmentReport and keeps the rest of the notice as details', () => {
    const { notice } = parsed(FULL_NOTICE);
    expect(toShipmentReport(notice, 'trk:1Z999AA10123456784')).toStrictEqual({
      report: {
        shipmentKey: 'trk:1Z999AA10123456784',
        carrier: 'UPS',
        service: 'UPS® Ground',
        trackingNumber: '1Z999AA10123456784',
        shipDate: '2024-07-16',
        labelCreatedAt: '2024-07-15T16:05:00.000Z',
        shippingCost: '12.50',
        items: [
          { lineId: 'L1', sku: '00123', quantity: 2 },
          { lineId: 'L2', sku: 'TEE-BLK-M', quantity: 1 },
        ],
      },
      details: {
        recipient: notice.recipient,
        notifyCustomer: true,
        notesToCustomer: 'Merci, Café Ørsted',
        customerNotes: 'Bitte an der Tür abstellen — danke! <3',
        internalNotes: 'Fragile & heavy',
        customFields: ['wholesale', '', 'batch 7'],
        requestedWarehouse: 'Lager Süd',
      },
    });
  });

  it("defaults the carrier to 'Other' and keeps 'no items' as everything still unshipped", () => {
    const { report, details } = toShipmentReport(mergeNoticeWithQuery(null, { order_number: '1001' }), 'query:||1001');
    expect(report).toStrictEqual({ shipmentKey: 'query:||1001', carrier: 'Other' });
    expect(report.items).toBeUndefined();
    expect(details).toStrictEqual({ customFields: [] });
  });

  it('passes an item matched only by SKU without a line id', () => {
    const { notice } = parsed(shipNotice('<Items><Item><SKU>MUG</SKU><Quantity>2</Quantity></Item></Items>'));
    expect(toShipmentReport(notice, 'k').report.items).toStrictEqual([{ sku: 'MUG', quantity: 2 }]);
  });
});

describe('notice sizes (ShipStation field limits, items per notice)', () => {
  const read = (inner: string, query = {}) => {
    const reading = readNotice(`<ShipNotice><OrderNumber>A-1</OrderNumber>${inner}</ShipNotice>`, query);
    if (!reading.ok) throw new Error(reading.reason);
    return reading;
  };

  it('text longer than ShipStation takes is cut by code point, with a warning per field; query values too', () => {
    const { merged, warnings } = read(
      `<InternalNotes>${'😀'.repeat(1001)}</InternalNotes><CustomField2>${'c'.repeat(101)}</CustomField2><Recipient><Address1>${'a'.repeat(201)}</Address1></Recipient>`,
      { service: 's'.repeat(150) },
    );
    expect(merged.internalNotes).toBe('😀'.repeat(1000));
    expect(merged.customFields).toEqual(['', 'c'.repeat(100)]);
    expect(merged.recipient?.address1).toBe('a'.repeat(200));
    expect(merged.service).toBe('s'.repeat(100));
    expect(warnings).toEqual([
      'InternalNotes is longer than 1000 characters; it is cut',
      'Service is longer than 100 characters; it is cut',
      'CustomField2 is longer than 100 characters; it is cut',
      'Recipient/Address1 is longer than 200 characters; it is cut',
    ]);
  });

  it('items beyond 500 are left out and counted; the report carries the count', () => {
    const items = Array.from({ length: 503 }, (_, i) => `<Item><SKU>S${i}</SKU><Quantity>1</Quantity></Item>`).join('');
    const { merged, warnings } = read(`<TrackingNumber>T1</TrackingNumber><Items>${items}</Items>`);
    expect(merged.items).toHaveLength(500);
    expect(merged.itemsOmitted).toBe(3);
    expect(warnings).toContain('Items holds 503 items; the first 500 are recorded and 3 left out (the order is flagged)');
    expect(toShipmentReport(merged, 'trk:T1').report.itemsOmitted).toBe(3);
  });

  it('an item key longer than any line key is cut with an ellipsis, so it can never match a line by its prefix', () => {
    const { merged } = read(`<Items><Item><LineItemID>${'L'.repeat(80)}</LineItemID><SKU>${'S'.repeat(60)}</SKU><Quantity>1</Quantity></Item></Items>`);
    expect(merged.items?.[0]).toMatchObject({ lineItemId: `${'L'.repeat(50)}…`, sku: `${'S'.repeat(50)}…` });
  });

  it('a tracking number is cut to 100 characters in the record and in the shipment key', () => {
    const long = 'T'.repeat(300);
    const { merged } = read(`<TrackingNumber>${long}</TrackingNumber>`);
    expect(merged.trackingNumber).toBe('T'.repeat(100));
    expect(shipmentKeyFor(merged, 'digest', { tracking_number: long })).toBe(`trk:${'T'.repeat(100)}`);
  });
});
