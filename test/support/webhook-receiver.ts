/**
 * A real HTTP receiver for push confirmations: node:http on 127.0.0.1, a free port, every request
 * recorded with its raw body, answered by a responder the test can swap at any time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
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

/**
 * `attempt` counts from 1 over everything this receiver was sent. `delayMs` holds the answer back (a
 * slow receiver); the request is in `received` as soon as it arrives. `headers` are added to the
 * answer (a redirect's Location); `endless` streams the body for ever, as fast as the client reads.
 */
export type Responder = (
  request: Omit<ReceivedRequest, 'status' | 'at'>,
  attempt: number,
) => { status: number; body?: string; delayMs?: number; headers?: Record<string, string>; endless?: boolean };

export interface WebhookReceiver {
  url: string;
  /** The port it listens on (127.0.0.1), for URLs under other names. */
  port: number;
  received: ReceivedRequest[];
  respond: Responder;
  /** Bytes of endless answers written so far, and how many of those answers' connections were dropped by the client. */
  streamed: { bytes: number; dropped: number };
  close(): Promise<void>;
}

/** Writes `chunk` for ever (respecting backpressure) until the client goes away. */
function streamForever(res: ServerResponse, streamed: WebhookReceiver['streamed']) {
  const chunk = Buffer.alloc(16 * 1024, 'x');
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) streamed.bytes += chunk.length;
    if (!res.destroyed) res.once('drain', pump);
  };
  res.on('close', () => streamed.dropped++);
  pump();
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
        res.writeHead(reply.status, { 'Content-Type': 'text/plain', ...reply.headers });
        if (reply.endless) streamForever(res, receiver.streamed);
        else res.end(reply.body ?? '');
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
    port,
    received,
    respond,
    streamed: { bytes: 0, dropped: 0 },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}

/** The receivers one suite starts, closed together in its afterAll. */
export function webhookReceivers() {
  const started: WebhookReceiver[] = [];
  return {
    start: async (respond?: Responder) => {
      const r = await startWebhookReceiver(respond);
      started.push(r);
      return r;
    },
    closeAll: () => Promise.all(started.splice(0).map((r) => r.close())),
  };
}

/** Verifies the deprecated `X-Signature: sha256=<hex>` = HMAC-SHA256(secret string, raw body), as a receiver would. */
export function signatureValid(secret: string, rawBody: string, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const match = /^sha256=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'));
}
