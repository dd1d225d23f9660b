import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../api/errors';

/** How drizzle reports a failed query: its own error, the driver's as the cause. */
const wrapped = (code: string) => Object.assign(new Error('Failed query: select 1'), { cause: Object.assign(new Error('driver'), { code }) });

describe('isDatabaseUnavailable', () => {
  it('is true for a database that is down, restarting or out of connections, however deep the cause', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT', '57P01', '57P02', '57P03', '08006', '08001', '53300']) {
      expect(isDatabaseUnavailable(wrapped(code)), code).toBe(true);
    }
  });

  it('is false for what retrying will not fix: bad values, constraint violations, syntax, unknown errors', () => {
    for (const code of ['22021', '23505', '42601', '42P01']) expect(isDatabaseUnavailable(wrapped(code)), code).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
