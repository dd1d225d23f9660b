/**
 * DNS pinning in webhook delivery (runtime/webhook-post.ts), over real HTTP: the address checked is
 * the address connected to, whatever a name resolves to afterwards (DNS rebinding), and every address
 * a name resolves to is checked, not only the first. A resolver that changes its answer between calls
 * plays the rebinding DNS server; two real receivers listen on two loopback addresses.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postWebhook, WebhookAddressRefused, type Resolver } from '../runtime/webhook-post';

/** A receiver that answers 200 and counts what it got. */
async function receiver(host: string, port = 0): Promise<{ server: Server; port: number; received: string[] }> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push(body);
      res.end(`ok from ${host}`);
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return { server, port: (server.address() as AddressInfo).port, received };
}

/** Answers `first` to the first question and `later` to every one after it, counting the questions. */
function rebindingResolver(first: string[], later: string[]): Resolver & { calls: number } {
  const resolver = Object.assign(
    async () => {
      resolver.calls++;
      return (resolver.calls === 1 ? first : later).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
    { calls: 0 },
  );
  return resolver;
}

const post = (url: string, resolve: Resolver, allowPrivateNetworks: boolean) =>
  postWebhook({ url, headers: { 'Content-Type': 'application/json' }, body: '{"n":1}', policy: { allowPrivateNetworks }, signal: AbortSignal.timeout(5_000), resolve });

let checked: Awaited<ReturnType<typeof receiver>>;
let rebound: Awaited<ReturnType<typeof receiver>>;

beforeAll(async () => {
  checked = await receiver('127.0.0.1');
  // The whole of 127/8 is loopback on Linux: a second receiver on the same port, another address.
  rebound = await receiver('127.0.0.2', checked.port);
});
afterAll(async () => {
  await Promise.all([checked, rebound].map((r) => r && new Promise((resolve) => r.server.close(resolve))));
});

describe('webhook delivery pins the address it checked', () => {
  it('connects to the address the check saw, asking DNS once; a later answer (rebinding) is never used', async () => {
    const resolve = rebindingResolver(['127.0.0.1'], ['127.0.0.2']);
    // `.invalid` never resolves in real DNS: had the connection looked the name up again, it would fail.
    const answer = await post(`http://rebind.invalid:${checked.port}/hook`, resolve, true);
    expect(answer.status).toBe(200);
    expect(answer.excerpt).toBe('ok from 127.0.0.1');
    expect(resolve.calls).toBe(1);
    expect(checked.received).toEqual(['{"n":1}']);
    expect(rebound.received).toEqual([]);
  });

  it('checks every address a name resolves to: one internal address among public ones refuses the delivery, nothing sent', async () => {
    const resolve = rebindingResolver(['8.8.8.8', '127.0.0.2'], ['127.0.0.2']);
    const before = rebound.received.length;
    const attempt = post(`http://mixed.invalid:${rebound.port}/hook`, resolve, false);
    await expect(attempt).rejects.toBeInstanceOf(WebhookAddressRefused);
    await expect(attempt).rejects.toThrow(/mixed\.invalid resolves to 127\.0\.0\.2/);
    expect(rebound.received.length).toBe(before);
  });
});
