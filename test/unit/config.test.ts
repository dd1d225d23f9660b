import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../runtime/config';

type Variable = (typeof CONFIG_VARIABLES)[number];

/** The ConfigError loadConfig throws for `env`; fails the test when it throws nothing or something else. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe('loadConfig defaults', () => {
  it('with nothing set, everything runs on a laptop with nothing else installed', () => {
    const dataDir = path.resolve('.data');
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '0.0.0.0',
      adminToken: null,
      dataDir,
      database: { pglitePath: path.join(dataDir, 'pglite') },
      temporal: {
        address: 'localhost:7233',
        addressGiven: false,
        namespace: 'default',
        taskQueue: 'orders',
        uiPort: 8233,
        uiUrl: 'http://localhost:8233',
        tls: null,
        apiKey: null,
      },
      metricsPort: 0,
      workerMetricsPort: 9464,
      workerCachedWorkflows: 2500,
      shutdownGraceMs: 10_000,
      personalDataDays: 90,
      requestTimeoutMs: 10_000,
      maxBodyBytes: 1_048_576,
      secretDigestKey: null,
      authThrottle: { maxFailures: 10, windowMs: 15 * 60_000 },
      trustProxyHops: 0,
      shipstation: {
        publicBaseUrl: 'http://localhost:3000',
        pageSize: 100,
        snapshotTtlMs: 15 * 60_000,
        requestLogDays: 30,
        maxNoticeBytes: 262_144,
      },
      console: { sessionTtlMs: 8 * HOUR, pollWarningMs: 2 * HOUR },
      webhooks: { allowPrivateNetworks: false, secretGraceMs: DAY },
      logLevel: 'info',
      orders: {
        deadlines: { awaitPaymentMs: 7 * DAY, pendingExportMs: 4 * HOUR, atWmsShipmentMs: 3 * DAY, confirmationMs: 3 * DAY },
        terminalGraceMs: 7 * DAY,
      },
    });
  });

  it('empty and blank values count as unset', () => {
    const env = Object.fromEntries(CONFIG_VARIABLES.map((name, i) => [name, i % 2 ? '' : '   ']));
    expect(loadConfig(env)).toEqual(loadConfig({}));
  });

  it('variables it does not know are ignored', () => {
    expect(loadConfig({ PORTT: 'x', TEMPORAL_ADRESS: '???' })).toEqual(loadConfig({}));
  });
});

/** PEM files for the TLS settings (their content is only read, not parsed, by loadConfig). */
const pemDir = mkdtempSync(path.join(os.tmpdir(), 'ssw-config-'));
const pem = { ca: path.join(pemDir, 'ca.pem'), cert: path.join(pemDir, 'client.pem'), key: path.join(pemDir, 'client.key') };
writeFileSync(pem.ca, 'CA PEM');
writeFileSync(pem.cert, 'CERT PEM');
writeFileSync(pem.key, 'KEY PEM');
afterAll(() => rmSync(pemDir, { recursive: true, force: true }));

describe('loadConfig with values', () => {
  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      ADMIN_TOKEN: 'a-very-long-admin-token',
      DATABASE_URL: 'postgres://user:pw@db:5432/orders',
      DATA_DIR: '/var/lib/connector',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'prod',
      TEMPORAL_TASK_QUEUE: 'orders-eu',
      TEMPORAL_UI_PORT: '9000',
      REQUEST_TIMEOUT: '2500ms',
      MAX_BODY_BYTES: '2048',
      PUBLIC_BASE_URL: 'https://connector.example.com/',
      EXPORT_PAGE_SIZE: '25',
      EXPORT_SNAPSHOT_TTL: '5m',
      REQUEST_LOG_DAYS: '7',
      SHIPNOTIFY_MAX_BYTES: '65536',
      LOG_LEVEL: 'debug',
      DEADLINE_AWAIT_PAYMENT: '2d',
      DEADLINE_PENDING_EXPORT: '90m',
      DEADLINE_AT_WMS_SHIPMENT: '12h',
      DEADLINE_CONFIRMATION: '45m',
      TERMINAL_GRACE: '30s',
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_CA: pem.ca,
      TEMPORAL_TLS_CERT: pem.cert,
      TEMPORAL_TLS_KEY: pem.key,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      TEMPORAL_API_KEY: 'tmprl-api-key',
      METRICS_PORT: '9101',
      WORKER_METRICS_PORT: '9100',
      WORKER_CACHED_WORKFLOWS: '250',
      CONSOLE_SESSION_TTL: '30m',
      SHIPSTATION_POLL_WARNING: '6h',
      SHUTDOWN_GRACE: '25s',
      PERSONAL_DATA_DAYS: '30',
      SECRET_DIGEST_KEY: 'f3b2a1c0d9e8f7a6b5c4d3e2f1a0b9c8',
      AUTH_FAILURE_LIMIT: '25',
      AUTH_FAILURE_WINDOW: '1h',
      TRUST_PROXY_HOPS: '2',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_SECRET_GRACE: '2h',
    });
    expect(config).toEqual({
      port: 8080,
      host: '127.0.0.1',
      adminToken: 'a-very-long-admin-token',
      dataDir: '/var/lib/connector',
      database: { url: 'postgres://user:pw@db:5432/orders' },
      temporal: {
        address: 'temporal.internal:7233',
        addressGiven: true,
        namespace: 'prod',
        taskQueue: 'orders-eu',
        uiPort: 9000,
        uiUrl: 'http://localhost:9000',
        tls: {
          serverRootCACertificate: Buffer.from('CA PEM'),
          clientCertPair: { crt: Buffer.from('CERT PEM'), key: Buffer.from('KEY PEM') },
          serverNameOverride: 'temporal.internal',
        },
        apiKey: 'tmprl-api-key',
      },
      metricsPort: 9101,
      workerMetricsPort: 9100,
      workerCachedWorkflows: 250,
      shutdownGraceMs: 25_000,
      personalDataDays: 30,
      requestTimeoutMs: 2500,
      maxBodyBytes: 2048,
      secretDigestKey: 'f3b2a1c0d9e8f7a6b5c4d3e2f1a0b9c8',
      authThrottle: { maxFailures: 25, windowMs: HOUR },
      trustProxyHops: 2,
      shipstation: {
        publicBaseUrl: 'https://connector.example.com',
        pageSize: 25,
        snapshotTtlMs: 5 * 60_000,
        requestLogDays: 7,
        maxNoticeBytes: 65_536,
      },
      console: { sessionTtlMs: 30 * 60_000, pollWarningMs: 6 * HOUR },
      webhooks: { allowPrivateNetworks: true, secretGraceMs: 2 * HOUR },
      logLevel: 'debug',
      orders: {
        deadlines: { awaitPaymentMs: 2 * DAY, pendingExportMs: 90 * 60_000, atWmsShipmentMs: 12 * HOUR, confirmationMs: 45 * 60_000 },
        terminalGraceMs: 30_000,
      },
    });
  });

  it('values are trimmed', () => {
    const config = loadConfig({ PORT: ' 8080 ', LOG_LEVEL: ' warn\n', TEMPORAL_ADDRESS: ' localhost:7233 ', HOST: ' ::1 ' });
    expect(config.port).toBe(8080);
    expect(config.logLevel).toBe('warn');
    expect(config.temporal.address).toBe('localhost:7233');
    expect(config.host).toBe('::1');
  });

  it('a relative DATA_DIR is resolved, and the embedded database lives inside it', () => {
    const config = loadConfig({ DATA_DIR: 'tmp/data' });
    expect(config.dataDir).toBe(path.resolve('tmp/data'));
    expect(config.database).toEqual({ pglitePath: path.join(path.resolve('tmp/data'), 'pglite') });
  });

  it('a DATABASE_URL replaces the embedded database; postgresql:// is accepted too', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://localhost/x' }).database).toEqual({ url: 'postgresql://localhost/x' });
  });

  it('giving the default Temporal address still counts as given', () => {
    expect(loadConfig({ TEMPORAL_ADDRESS: 'localhost:7233' }).temporal.addressGiven).toBe(true);
  });

  it('an admin token of exactly 16 characters is accepted', () => {
    expect(loadConfig({ ADMIN_TOKEN: '0123456789abcdef' }).adminToken).toBe('0123456789abcdef');
  });

  it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])('LOG_LEVEL %s is accepted', (level) => {
    expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
  });

  it.each([
    ['PORT', '0', 'port', 0],
    ['PORT', '65535', 'port', 65535],
    ['MAX_BODY_BYTES', '1024', 'maxBodyBytes', 1024],
    ['MAX_BODY_BYTES', '67108864', 'maxBodyBytes', 64 * 1_048_576],
  ] as const)('%s=%s is at the edge of its range and accepted', (name, value, key, expected) => {
    expect(loadConfig({ [name]: value })[key]).toBe(expected);
  });

  it.each([
    ['1', 1],
    ['65535', 65535],
  ])('TEMPORAL_UI_PORT=%s is accepted', (value, expected) => {
    expect(loadConfig({ TEMPORAL_UI_PORT: value }).temporal.uiPort).toBe(expected);
  });

  it('TEMPORAL_ADDRESS accepts host names with dots, dashes and underscores, and IPv4 addresses', () => {
    for (const address of ['temporal-frontend.default.svc.cluster.local:7233', 'my_host:1', '10.0.0.5:443']) {
      expect(loadConfig({ TEMPORAL_ADDRESS: address }).temporal.address).toBe(address);
    }
  });

  describe('without an argument it reads process.env', () => {
    afterEach(() => {
      vi.unstubAllEnvs();
    });

    it('takes PORT and LOG_LEVEL from the process environment', () => {
      vi.stubEnv('PORT', '4321');
      vi.stubEnv('LOG_LEVEL', 'error');
      const config = loadConfig();
      expect(config.port).toBe(4321);
      expect(config.logLevel).toBe('error');
    });
  });
});

describe('loadConfig refuses wrong values, naming the variable', () => {
  const wrong: [Variable, string][] = [
    ['PORT', 'abc'],
    ['PORT', '-1'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['PORT', '1e3'],
    ['PORT', '0x50'],
    ['PORT', '3000 3001'],
    ['PORT', '99999999999999999999'],
    ['TEMPORAL_UI_PORT', '0'],
    ['TEMPORAL_UI_PORT', '65536'],
    ['TEMPORAL_UI_PORT', 'ui'],
    ['MAX_BODY_BYTES', '1023'],
    ['MAX_BODY_BYTES', '67108865'],
    ['MAX_BODY_BYTES', '1mb'],
    ['ADMIN_TOKEN', 'short'],
    ['ADMIN_TOKEN', '0123456789abcde'],
    ['DATABASE_URL', 'mysql://user:pw@db/orders'],
    ['DATABASE_URL', 'localhost:5432'],
    ['DATABASE_URL', 'http://db:5432/orders'],
    ['TEMPORAL_ADDRESS', 'localhost'],
    ['TEMPORAL_ADDRESS', 'http://localhost:7233'],
    ['TEMPORAL_ADDRESS', 'localhost:'],
    ['TEMPORAL_ADDRESS', ':7233'],
    ['TEMPORAL_ADDRESS', 'localhost:123456'],
    ['TEMPORAL_ADDRESS', 'local host:7233'],
    ['LOG_LEVEL', 'verbose'],
    ['LOG_LEVEL', 'INFO'],
    ['REQUEST_TIMEOUT', '0s'],
    ['REQUEST_TIMEOUT', '0ms'],
    ['REQUEST_TIMEOUT', '10'],
    ['REQUEST_TIMEOUT', 'ten seconds'],
    ['REQUEST_TIMEOUT', '-5s'],
    ['REQUEST_TIMEOUT', '1.5s'],
    ['DEADLINE_AWAIT_PAYMENT', '0d'],
    ['DEADLINE_AWAIT_PAYMENT', '1w'],
    ['DEADLINE_PENDING_EXPORT', '4 h'],
    ['DEADLINE_PENDING_EXPORT', '4H'],
    ['DEADLINE_AT_WMS_SHIPMENT', '3days'],
    ['DEADLINE_AT_WMS_SHIPMENT', '0h'],
    ['DEADLINE_CONFIRMATION', '2 days'],
    ['TEMPORAL_UI_URL', 'localhost:8233'],
    ['TERMINAL_GRACE', 'forever'],
    ['TERMINAL_GRACE', '0m'],
    ['PUBLIC_BASE_URL', 'connector.example.com'],
    ['PUBLIC_BASE_URL', 'ftp://connector.example.com'],
    ['PUBLIC_BASE_URL', 'https://connector.example.com/?x=1'],
    ['EXPORT_PAGE_SIZE', '0'],
    ['EXPORT_PAGE_SIZE', '501'],
    ['EXPORT_SNAPSHOT_TTL', '15'],
    ['REQUEST_LOG_DAYS', '0'],
    ['SHIPNOTIFY_MAX_BYTES', '100'],
    ['TEMPORAL_TLS', 'yes'],
    ['TEMPORAL_TLS_CA', '/no/such/ca.pem'],
    ['TEMPORAL_TLS_CERT', '/etc/client.pem'],
    ['TEMPORAL_TLS_KEY', '/etc/client.key'],
    ['METRICS_PORT', '65536'],
    ['METRICS_PORT', 'metrics'],
    ['CONSOLE_SESSION_TTL', '8d'],
    ['CONSOLE_SESSION_TTL', '0h'],
    ['SHIPSTATION_POLL_WARNING', 'never'],
    ['WORKER_METRICS_PORT', '65536'],
    ['WORKER_METRICS_PORT', 'metrics'],
    ['WORKER_CACHED_WORKFLOWS', '1'],
    ['WORKER_CACHED_WORKFLOWS', 'all'],
    ['SHUTDOWN_GRACE', '0s'],
    ['SHUTDOWN_GRACE', '10'],
    ['PERSONAL_DATA_DAYS', '0'],
    ['PERSONAL_DATA_DAYS', '3651'],
    ['SECRET_DIGEST_KEY', 'too-short-to-be-a-key'],
    ['SECRET_DIGEST_KEY', 'ab'.repeat(20)],
    ['AUTH_FAILURE_LIMIT', '0'],
    ['AUTH_FAILURE_LIMIT', 'ten'],
    ['AUTH_FAILURE_WINDOW', '2d'],
    ['AUTH_FAILURE_WINDOW', '15'],
    ['TRUST_PROXY_HOPS', '11'],
    ['TRUST_PROXY_HOPS', 'all'],
    ['WEBHOOK_ALLOW_PRIVATE_NETWORKS', 'yes'],
    ['WEBHOOK_ALLOW_PRIVATE_NETWORKS', 'TRUE'],
    ['WEBHOOK_SECRET_GRACE', '31d'],
    ['WEBHOOK_SECRET_GRACE', '0s'],
  ];

  it.each(wrong)('%s=%j throws a ConfigError naming the variable', (name, value) => {
    const error = configError({ [name]: value });
    // Secrets are named but not echoed: "ADMIN_TOKEN (value not shown) is not valid ...".
    expect(error.message.startsWith(`${name}=`) || error.message.startsWith(`${name} (value not shown)`)).toBe(true);
    expect(error.message).toContain('is not valid: expected');
  });

  it('every variable with a validation is covered above', () => {
    const validated = new Set(wrong.map(([name]) => name));
    const free: Variable[] = ['HOST', 'DATA_DIR', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY'];
    expect([...validated, ...free].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('the message shows the wrong value and what was expected', () => {
    expect(configError({ PORT: '70000' }).message).toBe('PORT="70000" is not valid: expected an integer from 0 to 65535');
    expect(configError({ LOG_LEVEL: 'loud' }).message).toBe(
      'LOG_LEVEL="loud" is not valid: expected fatal, error, warn, info, debug, trace, silent',
    );
    expect(configError({ TERMINAL_GRACE: '7 days' }).message).toBe(
      'TERMINAL_GRACE="7 days" is not valid: expected a duration such as 500ms, 30s, 15m, 4h or 7d, at most 3650d',
    );
  });

  it('a wrong ADMIN_TOKEN is not echoed in the message', () => {
    const error = configError({ ADMIN_TOKEN: 'hunter2-secret' });
    expect(error.message).toMatch(/^ADMIN_TOKEN \(value not shown\) is not valid/);
    expect(error.message).not.toContain('hunter2');
  });

  it('a wrong DATABASE_URL is not echoed in the message (it may hold a password)', () => {
    const error = configError({ DATABASE_URL: 'mysql://admin:s3cr3tpw@db/orders' });
    expect(error.message).toMatch(/^DATABASE_URL \(value not shown\) is not valid/);
    expect(error.message).not.toContain('s3cr3tpw');
  });

  it('TLS: an API key or any TLS setting turns TLS on; TEMPORAL_TLS=false with them is a contradiction', () => {
    expect(loadConfig({ TEMPORAL_API_KEY: 'key' }).temporal).toMatchObject({ tls: {}, apiKey: 'key' });
    expect(loadConfig({ TEMPORAL_TLS: 'true' }).temporal.tls).toEqual({});
    expect(loadConfig({ TEMPORAL_TLS: 'false' }).temporal.tls).toBeNull();
    expect(loadConfig({ TEMPORAL_TLS_SERVER_NAME: 'frontend' }).temporal.tls).toEqual({ serverNameOverride: 'frontend' });
    expect(loadConfig({ TEMPORAL_TLS_CA: pem.ca }).temporal.tls).toEqual({ serverRootCACertificate: Buffer.from('CA PEM') });
    expect(configError({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'key' }).message).toMatch(/^TEMPORAL_TLS="false" is not valid/);
    expect(configError({ TEMPORAL_TLS_CERT: pem.cert }).message).toBe(
      'TEMPORAL_TLS_CERT (value not shown) is not valid: expected to be set together with TEMPORAL_TLS_KEY (a client certificate needs its key)',
    );
    expect(configError({ TEMPORAL_TLS_CA: '/no/such/ca.pem' }).message).toBe('TEMPORAL_TLS_CA="/no/such/ca.pem" is not valid: expected a readable PEM file (ENOENT)');
  });

  it('the Temporal API key is never echoed, even next to a wrong setting', () => {
    const error = configError({ TEMPORAL_API_KEY: 'tmprl-very-secret', TEMPORAL_TLS: 'false' });
    expect(error.message).not.toContain('tmprl-very-secret');
  });

  it('ConfigError is an Error', () => {
    expect(configError({ PORT: 'x' })).toBeInstanceOf(Error);
  });

  // A port beyond 65535 must stop the process at start-up, not when the worker first connects.
  it('TEMPORAL_ADDRESS with a port beyond 65535 throws a ConfigError', () => {
    configError({ TEMPORAL_ADDRESS: 'localhost:99999' });
  });

  // A duration beyond any sensible timer (or beyond a safe integer) is a typo, not a setting.
  it('an enormous duration is refused', () => {
    expect(configError({ TERMINAL_GRACE: '99999999999999999999d' }).message).toMatch(/^TERMINAL_GRACE=.*at most 3650d$/);
    expect(configError({ DEADLINE_AT_WMS_SHIPMENT: '3651d' }).message).toMatch(/^DEADLINE_AT_WMS_SHIPMENT=/);
    expect(loadConfig({ TERMINAL_GRACE: '3650d' }).orders.terminalGraceMs).toBe(3650 * 86_400_000);
  });
});

describe('CONFIG_VARIABLES', () => {
  it('lists exactly the variables loadConfig reads', () => {
    const read = new Set<string>();
    const env = new Proxy({} as Record<string, string | undefined>, {
      get(_target, key) {
        if (typeof key === 'string') read.add(key);
        return undefined;
      },
    });
    loadConfig(env);
    expect([...read].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });
});
