/** Standard Webhooks signing, checked with the standard's own verifier (the standardwebhooks package). */
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { legacySignature, newSigningSecret, signatureHeaders, signingKey } from '../../runtime/webhook-signing';

const body = JSON.stringify({ type: 'shipment.confirmation', confirmation: { id: '7', orderNumber: 'A-1' } });
const now = () => Math.floor(Date.now() / 1000);

describe('webhook signing', () => {
  it("new secrets are whsec_ + standard base64 of 24 key bytes, which the standard's verifier accepts", () => {
    for (let i = 0; i < 50; i++) {
      const secret = newSigningSecret();
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
      expect(signingKey(secret)).toHaveLength(24);
      expect(() => new Webhook(secret)).not.toThrow();
    }
  });

  it('the headers verify with standardwebhooks; a changed body, id or old timestamp does not', () => {
    const secret = newSigningSecret();
    const message = { id: 'shipment-7', timestamp: now(), body };
    const headers = signatureHeaders({ current: secret, previous: null, legacyKey: secret }, message);
    expect(headers['webhook-id']).toBe('shipment-7');
    expect(headers['webhook-timestamp']).toBe(String(message.timestamp));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const verifier = new Webhook(secret);
    expect(verifier.verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => verifier.verify(`${body} `, headers)).toThrow();
    expect(() => verifier.verify(body, { ...headers, 'webhook-id': 'shipment-8' })).toThrow();
    const stale = signatureHeaders({ current: secret, previous: null, legacyKey: secret }, { ...message, timestamp: now() - 3600 });
    expect(() => verifier.verify(body, stale)).toThrow(/timestamp/i);
  });

  it('during a rotation grace two signatures are sent: a receiver with either secret verifies', () => {
    const [oldSecret, newSecret, stranger] = [newSigningSecret(), newSigningSecret(), newSigningSecret()];
    const headers = signatureHeaders({ current: newSecret, previous: oldSecret, legacyKey: newSecret }, { id: 'shipment-9', timestamp: now(), body });
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(oldSecret).verify(body, headers)).toBeTruthy();
    expect(new Webhook(newSecret).verify(body, headers)).toBeTruthy();
    expect(() => new Webhook(stranger).verify(body, headers)).toThrow();
  });

  it('X-Signature is unchanged: HMAC-SHA256 hex of the body keyed with the secret string as issued', () => {
    const issued = 'whsec_ab-_cdEFghIJklMNopQRstUVwxYZ0123';
    expect(legacySignature(issued, body)).toBe(`sha256=${createHmac('sha256', issued).update(body).digest('hex')}`);
    const headers = signatureHeaders({ current: 'whsec_ab+/cdEFghIJklMNopQRstUVwxYZ0123', previous: null, legacyKey: issued }, { id: 'x', timestamp: now(), body });
    expect(headers['X-Signature']).toBe(legacySignature(issued, body));
  });

  it('an old base64url secret and its standard re-encoding are the same key', () => {
    const bytes = Buffer.from('fb ff fe 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 3e 3f 7e 7f 80'.replace(/ /g, ''), 'hex');
    const old = `whsec_${bytes.toString('base64url')}`;
    const standard = `whsec_${bytes.toString('base64')}`;
    expect(old).not.toBe(standard);
    expect(signingKey(old)).toEqual(bytes);
    expect(signingKey(standard)).toEqual(bytes);
    // Why the migration was needed: the standard's verifier refuses the base64url form.
    expect(() => new Webhook(old)).toThrow();
  });
});
