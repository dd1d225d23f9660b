/**
 * Who asked for a change to an order, as the order's timeline says it: "retried from the console by
 * Ana". Requests carry the phrase (RequestEnvelope.requestedBy) and the workflow stamps it on the
 * timeline entries the request added. A name is self-declared by whoever holds the admin token (the
 * console's sign-in, the CLI's OPS_NAME): it tells colleagues apart, it does not authenticate them.
 */

/** Where a request came from. */
export type RequestChannel = 'order source' | 'ops API' | 'ops CLI' | 'console';

export const MAX_REQUESTER_NAME = 60;

/** A self-declared name as it may appear on a timeline: printable, one line, bounded; null when nothing is left. */
export function cleanRequesterName(name: string | null | undefined): string | null {
  const cleaned = (name ?? '')
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return cleaned ? [...cleaned].slice(0, MAX_REQUESTER_NAME).join('') : null;
}

/** The phrase a timeline entry carries: "by the order source", "from the console by Ana". */
export function requestedBy(channel: RequestChannel, name?: string | null): string {
  const who = cleanRequesterName(name);
  const where = channel === 'order source' ? 'by the order source' : `from the ${channel}`;
  return who && channel !== 'order source' ? `${where} by ${who}` : where;
}

/** A bulk retry acts for whoever started it. */
export const inBulkRetry = (startedBy: string | undefined) => `in a bulk retry${startedBy ? ` ${startedBy}` : ''}`;
