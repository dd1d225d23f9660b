/**
 * A real HTTP receiver for push confirmations: node:http on 127.0.0.1, a free port, every request
 * recorded with its raw body, answered by a responder the test can swap at any time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body exactly as it arrived (what the signature covers). */
  rawBody: string;
  /** What the receiver answered. */
  status: number;
  at: number;
}

/** `attempt` counts from 1 over everything this receiver was sent. */
/** `delayMs` holds the answer back (a slow receiver); the request is in `received` as soon as it arrives. */
export type Responder = (request: Omit<ReceivedRequest, 'status' | 'at'>, attempt: number) => { status: number; body?: string; delayMs?: number };

export interface WebhookReceiver {
  url: string;
  received: ReceivedRequest[];
  respond: Responder;
  close(): Promise<void>;
}

export const answer200: Responder = () => ({ status: 200, body: 'ok' });

export async function startWebhookReceiver(respond: Responder = answer200): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, rawBody: Buffer.concat(chunks).toString('utf8') };
      let reply: ReturnType<Responder>;
      try {
        reply = receiver.respond(request, received.length + 1);
      } catch (error) {
        reply = { status: 500, body: String(error) };
      }
      received.push({ ...request, status: reply.status, at: Date.now() });
      setTimeout(() => {
        res.writeHead(reply.status, { 'Content-Type': 'text/plain' });
        res.end(reply.body ?? '');
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hooks/confirmations`,
    received,
    respond,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}

/** Verifies `X-Signature: sha256=<hex>` = HMAC-SHA256(secret, raw body), as a receiver would. */
export function signatureValid(secret: string, rawBody: string, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const match = /^sha256=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'));
}
