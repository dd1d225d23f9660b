/**
 * One webhook POST, made safe to point at a URL a merchant chose: the host is resolved here, every
 * address it resolves to is checked (runtime/webhook-address.ts), and the connection is pinned to the
 * checked address, so a DNS answer that changes between the check and the connect (rebinding) cannot
 * swap it. Redirects are never followed (a 3xx is the answer), and at most ANSWER_LIMIT bytes of the
 * answer are read before the connection is dropped, so an endless answer costs nothing.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { classifyAddress, hostProblem, refusedAddressReason, type NetworkPolicy } from './webhook-address';

/** Enough for a receiver's error message; the rest of the answer is never read. */
export const ANSWER_LIMIT = 4096;

/** The target refused before anything was sent: its address (or scheme) is not allowed. */
export class WebhookAddressRefused extends Error {}

export interface WebhookAnswer {
  status: number;
  /** The start of the answer (at most ANSWER_LIMIT bytes), decoded as UTF-8. */
  excerpt: string;
  /** A redirect's Location, reported (never followed). */
  location: string | null;
}

interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a name resolves to (a seam only so a test can play a rebinding DNS server). */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;
const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** The address to connect to: the literal one, or the first a name resolves to once every one passed the check. */
export async function checkedAddress(hostname: string, policy: NetworkPolicy, resolve: Resolver = systemResolver): Promise<PinnedAddress> {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  const problem = hostProblem(host, policy);
  if (problem) throw new WebhookAddressRefused(problem);
  if (classifyAddress(host) !== null) return { address: host, family: host.includes(':') ? 6 : 4 };
  const resolved = await resolve(host);
  if (resolved.length === 0) throw new Error(`${host} resolves to no address`);
  // Every address, not just the first: the connection may not be the only one a name is used for.
  for (const { address } of resolved) {
    const reason = refusedAddressReason(address, policy);
    if (reason) throw new WebhookAddressRefused(`${host} resolves to ${address}, ${reason}`);
  }
  return { address: resolved[0]!.address, family: resolved[0]!.family as 4 | 6 };
}

/** A `lookup` that answers every question with the checked address (both callback forms Node uses). */
function pinnedLookup(pinned: PinnedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) (callback as unknown as (e: null, a: PinnedAddress[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
}

/** Reads at most `limit` bytes of the answer, then destroys it (the rest is never downloaded). */
function readBounded(response: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = () => {
      response.destroy();
      resolve(Buffer.concat(chunks).subarray(0, limit).toString('utf8'));
    };
    response.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) finish();
    });
    response.on('end', finish);
    // A connection dropped mid-answer still leaves a status worth reporting.
    response.on('error', finish);
    response.on('aborted', finish);
  });
}

export interface WebhookPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  policy: NetworkPolicy;
  /** Aborts the attempt (a timeout, the activity's cancellation). */
  signal: AbortSignal;
  /** The system's resolver unless a test plays another. */
  resolve?: Resolver;
}

/** POSTs the body; the answer whatever its status (3xx included: never followed). Throws WebhookAddressRefused or a network error. */
export async function postWebhook(post: WebhookPost): Promise<WebhookAnswer> {
  const url = new URL(post.url);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookAddressRefused(`${url.protocol} is not http(s)`);
  const pinned = await checkedAddress(url.hostname, post.policy, post.resolve);
  post.signal.throwIfAborted();
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = Buffer.from(post.body, 'utf8');
  return new Promise<WebhookAnswer>((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'POST',
        headers: { ...post.headers, 'Content-Length': String(body.length) },
        lookup: pinnedLookup(pinned),
        // Its own connection: a pooled one could have been opened for another address of the name.
        agent: false,
        signal: post.signal,
      },
      (response) => {
        readBounded(response, ANSWER_LIMIT).then((excerpt) => resolve({ status: response.statusCode ?? 0, excerpt, location: response.headers.location ?? null }), reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
