/** How config turns into Temporal connection options (the real TLS handshakes: test/temporal-tls.test.ts). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../runtime/config';
import { temporalConnectionOptions } from '../../temporal/connection';

describe('temporalConnectionOptions', () => {
  it('plaintext by default: just the address', () => {
    expect(temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }).temporal)).toEqual({ address: 'temporal:7233' });
  });

  it('an API key (Temporal Cloud) goes with TLS on the system roots', () => {
    const options = temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key-1' }).temporal);
    expect(options).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: 'key-1' });
  });

  it('TLS settings pass through as the SDK expects them', () => {
    const options = temporalConnectionOptions(loadConfig({ TEMPORAL_TLS_SERVER_NAME: 'frontend.internal' }).temporal);
    expect(options).toEqual({ address: 'localhost:7233', tls: { serverNameOverride: 'frontend.internal' } });
  });

  it('a target without TLS fields (the dev server) is plaintext', () => {
    expect(temporalConnectionOptions({ address: 'localhost:7233', namespace: 'default' })).toEqual({ address: 'localhost:7233' });
  });
});
