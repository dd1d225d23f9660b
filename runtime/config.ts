/**
 * The one config loader: every environment variable the service reads, typed and validated at
 * start-up. A wrong value stops the process with a message naming the variable. Defaults run on a
 * laptop with nothing else installed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { OrderSettings } from '../domain/lifecycle';
import { MAX_DURATION_MS, parseDuration } from '../domain/dates';
import type { DatabaseTarget } from '../db/client';
import { MAX_FAILURE_WINDOW_MS } from '../db/credential-failures';
import { secretDigestKeyProblem } from '../db/secret-digest';
import { keptSecret } from './kept-secret';

export interface Config {
  port: number;
  host: string;
  /** Null when unset: the API then refuses admin calls (make dev always sets one). */
  adminToken: string | null;
  dataDir: string;
  database: DatabaseTarget;
  temporal: {
    address: string;
    /** False when TEMPORAL_ADDRESS is unset: `make dev` then starts its own dev server. */
    addressGiven: boolean;
    namespace: string;
    taskQueue: string;
    uiPort: number;
    /** Where people open the Temporal Web UI; ops links to orders point there. */
    uiUrl: string;
    /** Null = plaintext (the dev server, a cluster on a private network). */
    tls: TemporalTls | null;
    /** Temporal Cloud API key; implies TLS. A secret: never logged. */
    apiKey: string | null;
  };
  /** A port of its own for the API's /metrics (kept off the public port); 0 = /metrics on the API's port. */
  metricsPort: number;
  /** Port of the worker's Prometheus endpoint (Temporal SDK metrics); 0 = none. */
  workerMetricsPort: number;
  /** Order workflows a worker keeps in memory between messages (the SDK's sticky cache). */
  workerCachedWorkflows: number;
  /** How long a stopping API or worker lets in-flight requests and activities finish. */
  shutdownGraceMs: number;
  /** Personal data of orders closed longer than this many days is purged from the read model. */
  personalDataDays: number;
  /** How long the API waits for a worker to answer an order request before it answers 503. */
  requestTimeoutMs: number;
  /** Larger request bodies get 413 on every route (the ShipStation endpoint has its own limit). */
  maxBodyBytes: number;
  /**
   * The key of the keyed digests of API keys and connection passwords (SECRET_DIGEST_KEY). Null when
   * unset: resolveSecretDigestKey() then keeps a generated one beside embedded PGlite, and refuses
   * to start with PostgreSQL. A secret: never logged.
   */
  secretDigestKey: string | null;
  /** More failed credential attempts than `maxFailures` from one address within `windowMs` get 429. */
  authThrottle: { maxFailures: number; windowMs: number };
  /** Proxies in front of the API whose X-Forwarded-For entries are trusted; 0 = the socket's address. */
  trustProxyHops: number;
  shipstation: {
    /** The address ShipStation reaches this service at; connection URLs are built from it. */
    publicBaseUrl: string;
    pageSize: number;
    /** How long one export window's snapshot is reused for the same window. */
    snapshotTtlMs: number;
    requestLogDays: number;
    maxNoticeBytes: number;
  };
  /** The ops console at /ops. */
  console: { sessionTtlMs: number; pollWarningMs: number };
  webhooks: WebhookSettings;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  orders: OrderSettings;
}

/** Where confirmation webhooks may go, and how long a rotated-away signing secret keeps signing. */
export interface WebhookSettings {
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: loopback, private, link-local, unique-local and CGNAT targets, and new plain-http ones. */
  allowPrivateNetworks: boolean;
  /** WEBHOOK_SECRET_GRACE: after a rotation the previous secret signs beside the new one this long. */
  secretGraceMs: number;
}

/** Safe without configuration: public https receivers only, a day to switch secrets. */
export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = { allowPrivateNetworks: false, secretGraceMs: 86_400_000 };

/** TLS material read from the files the variables name, so a bad path fails at start-up. */
export interface TemporalTls {
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
  serverNameOverride?: string;
}

export class ConfigError extends Error {}


type Env = Record<string, string | undefined>;

/** Documented in README.md; keep the two in step. */
export const CONFIG_VARIABLES = [
  'PORT',
  'HOST',
  'ADMIN_TOKEN',
  'DATABASE_URL',
  'DATA_DIR',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'TEMPORAL_UI_PORT',
  'TEMPORAL_UI_URL',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CA',
  'TEMPORAL_TLS_CERT',
  'TEMPORAL_TLS_KEY',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_API_KEY',
  'METRICS_PORT',
  'WORKER_METRICS_PORT',
  'WORKER_CACHED_WORKFLOWS',
  'SHUTDOWN_GRACE',
  'PERSONAL_DATA_DAYS',
  'REQUEST_TIMEOUT',
  'MAX_BODY_BYTES',
  'SECRET_DIGEST_KEY',
  'AUTH_FAILURE_LIMIT',
  'AUTH_FAILURE_WINDOW',
  'TRUST_PROXY_HOPS',
  'PUBLIC_BASE_URL',
  'EXPORT_PAGE_SIZE',
  'EXPORT_SNAPSHOT_TTL',
  'REQUEST_LOG_DAYS',
  'SHIPNOTIFY_MAX_BYTES',
  'CONSOLE_SESSION_TTL',
  'SHIPSTATION_POLL_WARNING',
  'WEBHOOK_ALLOW_PRIVATE_NETWORKS',
  'WEBHOOK_SECRET_GRACE',
  'LOG_LEVEL',
  'DEADLINE_AWAIT_PAYMENT',
  'DEADLINE_PENDING_EXPORT',
  'DEADLINE_AT_WMS_SHIPMENT',
  'DEADLINE_CONFIRMATION',
  'TERMINAL_GRACE',
] as const;

export function loadConfig(env: Env = process.env): Config {
  const read = (name: (typeof CONFIG_VARIABLES)[number]) => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  /** `value` null = a secret: the message names the variable but does not echo it. */
  const fail = (name: string, value: string | null, expected: string): never => {
    const shown = value === null ? `${name} (value not shown)` : `${name}=${JSON.stringify(value)}`;
    throw new ConfigError(`${shown} is not valid: expected ${expected}`);
  };
  const integer = (name: (typeof CONFIG_VARIABLES)[number], fallback: number, min: number, max: number) => {
    const value = read(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) fail(name, value, `an integer from ${min} to ${max}`);
    return n;
  };
  const duration = (name: (typeof CONFIG_VARIABLES)[number], fallback: string, max: { ms: number; text: string } = { ms: MAX_DURATION_MS, text: '3650d' }) => {
    const value = read(name) ?? fallback;
    const ms = parseDuration(value);
    // Temporal timers take at most about 100 years; ten is plenty for any order deadline.
    if (ms === null || ms <= 0 || ms > max.ms) fail(name, value, `a duration such as 500ms, 30s, 15m, 4h or 7d, at most ${max.text}`);
    return ms!;
  };

  const flag = (name: (typeof CONFIG_VARIABLES)[number], fallback: boolean) => {
    const value = read(name);
    if (value === undefined) return fallback;
    if (value !== 'true' && value !== 'false') fail(name, value, 'true or false');
    return value === 'true';
  };

  const adminToken = read('ADMIN_TOKEN') ?? null;
  if (adminToken !== null && adminToken.length < 16) fail('ADMIN_TOKEN', null, 'at least 16 characters');
  const secretDigestKey = read('SECRET_DIGEST_KEY') ?? null;
  const keyProblem = secretDigestKey === null ? null : secretDigestKeyProblem(secretDigestKey);
  if (keyProblem) fail('SECRET_DIGEST_KEY', null, keyProblem);

  const dataDir = path.resolve(read('DATA_DIR') ?? '.data');
  const databaseUrl = read('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    fail('DATABASE_URL', null, 'a postgres:// or postgresql:// URL (leave it unset for the embedded PGlite)');
  }

  const temporalAddress = read('TEMPORAL_ADDRESS');
  if (temporalAddress !== undefined && !(/^[\w.-]+:\d{1,5}$/.test(temporalAddress) && Number(temporalAddress.split(':')[1]) <= 65535)) {
    fail('TEMPORAL_ADDRESS', temporalAddress, 'host:port, e.g. localhost:7233');
  }
  const logLevel = read('LOG_LEVEL') ?? 'info';
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  if (!(levels as readonly string[]).includes(logLevel)) fail('LOG_LEVEL', logLevel, levels.join(', '));

  const port = integer('PORT', 3000, 0, 65535);
  const uiPort = integer('TEMPORAL_UI_PORT', 8233, 1, 65535);
  const temporalUiUrl = (read('TEMPORAL_UI_URL') ?? `http://localhost:${uiPort}`).replace(/\/+$/, '');
  if (!/^https?:\/\/\S+$/.test(temporalUiUrl)) fail('TEMPORAL_UI_URL', temporalUiUrl, 'an http(s) URL such as http://localhost:8233');
  const publicBaseUrl = (read('PUBLIC_BASE_URL') ?? `http://localhost:${port}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s?#]+(\/[^\s?#]*)?$/.test(publicBaseUrl)) {
    fail('PUBLIC_BASE_URL', publicBaseUrl, 'an http(s) URL without query, e.g. https://connector.example.com');
  }

  const temporalApiKey = read('TEMPORAL_API_KEY') ?? null;
  const tls = temporalTls(read, fail, temporalApiKey !== null);

  return {
    port,
    host: read('HOST') ?? '0.0.0.0',
    adminToken,
    dataDir,
    database: databaseUrl ? { url: databaseUrl } : { pglitePath: path.join(dataDir, 'pglite') },
    temporal: {
      address: temporalAddress ?? 'localhost:7233',
      addressGiven: temporalAddress !== undefined,
      namespace: read('TEMPORAL_NAMESPACE') ?? 'default',
      taskQueue: read('TEMPORAL_TASK_QUEUE') ?? 'orders',
      uiPort,
      uiUrl: temporalUiUrl,
      tls,
      apiKey: temporalApiKey,
    },
    metricsPort: integer('METRICS_PORT', 0, 0, 65535),
    workerMetricsPort: integer('WORKER_METRICS_PORT', 9464, 0, 65535),
    // Enough for the orders a busy hour keeps active (a cache smaller than the set of orders being
    // messaged turns nearly every message into a full replay); about 0.3 MiB each with the image's
    // jemalloc, so a worker stays under 1 GiB however many orders are open (docs/performance.md).
    workerCachedWorkflows: integer('WORKER_CACHED_WORKFLOWS', 2500, 2, 100_000),
    shutdownGraceMs: duration('SHUTDOWN_GRACE', '10s'),
    personalDataDays: integer('PERSONAL_DATA_DAYS', 90, 1, 3650),
    requestTimeoutMs: duration('REQUEST_TIMEOUT', '10s'),
    maxBodyBytes: integer('MAX_BODY_BYTES', 1_048_576, 1024, 64 * 1_048_576),
    secretDigestKey,
    authThrottle: {
      maxFailures: integer('AUTH_FAILURE_LIMIT', 10, 1, 100_000),
      // Counters older than a day are purged hourly (db/credential-failures.ts), so no longer window.
      windowMs: duration('AUTH_FAILURE_WINDOW', '15m', { ms: MAX_FAILURE_WINDOW_MS, text: '1d' }),
    },
    trustProxyHops: integer('TRUST_PROXY_HOPS', 0, 0, 10),
    shipstation: {
      publicBaseUrl,
      pageSize: integer('EXPORT_PAGE_SIZE', 100, 1, 500),
      snapshotTtlMs: duration('EXPORT_SNAPSHOT_TTL', '15m'),
      requestLogDays: integer('REQUEST_LOG_DAYS', 30, 1, 3650),
      maxNoticeBytes: integer('SHIPNOTIFY_MAX_BYTES', 262_144, 1024, 16 * 1_048_576),
    },
    console: {
      sessionTtlMs: duration('CONSOLE_SESSION_TTL', '8h', { ms: 7 * 86_400_000, text: '7d' }),
      pollWarningMs: duration('SHIPSTATION_POLL_WARNING', '2h'),
    },
    webhooks: {
      allowPrivateNetworks: flag('WEBHOOK_ALLOW_PRIVATE_NETWORKS', DEFAULT_WEBHOOK_SETTINGS.allowPrivateNetworks),
      secretGraceMs: duration('WEBHOOK_SECRET_GRACE', '24h', { ms: 30 * 86_400_000, text: '30d' }),
    },
    logLevel: logLevel as Config['logLevel'],
    orders: {
      deadlines: {
        awaitPaymentMs: duration('DEADLINE_AWAIT_PAYMENT', '7d'),
        pendingExportMs: duration('DEADLINE_PENDING_EXPORT', '4h'),
        atWmsShipmentMs: duration('DEADLINE_AT_WMS_SHIPMENT', '3d'),
        confirmationMs: duration('DEADLINE_CONFIRMATION', '3d'),
      },
      terminalGraceMs: duration('TERMINAL_GRACE', '7d'),
    },
  };
}

type Read = (name: (typeof CONFIG_VARIABLES)[number]) => string | undefined;
type Fail = (name: string, value: string | null, expected: string) => never;

/**
 * TLS is on when TEMPORAL_TLS=true, when any certificate file is named, or with an API key (Temporal
 * Cloud only speaks TLS). Without a CA file the system's trusted roots are used.
 */
function temporalTls(read: Read, fail: Fail, hasApiKey: boolean): TemporalTls | null {
  const flag = read('TEMPORAL_TLS');
  if (flag !== undefined && flag !== 'true' && flag !== 'false') fail('TEMPORAL_TLS', flag, 'true or false');
  const caPath = read('TEMPORAL_TLS_CA');
  const certPath = read('TEMPORAL_TLS_CERT');
  const keyPath = read('TEMPORAL_TLS_KEY');
  const serverName = read('TEMPORAL_TLS_SERVER_NAME');
  if ((certPath === undefined) !== (keyPath === undefined)) {
    const [given, missing] = certPath !== undefined ? ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY'] : ['TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CERT'];
    fail(given, null, `to be set together with ${missing} (a client certificate needs its key)`);
  }
  const tlsSettingGiven = hasApiKey || caPath !== undefined || certPath !== undefined || serverName !== undefined;
  if (flag === 'false' && tlsSettingGiven) fail('TEMPORAL_TLS', flag, 'true (or unset) when TEMPORAL_API_KEY or a TEMPORAL_TLS_* file or name is given');
  const wanted = flag === 'true' || tlsSettingGiven;
  if (!wanted) return null;
  const file = (name: 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY', filePath: string) => {
    try {
      return readFileSync(filePath);
    } catch (error) {
      return fail(name, filePath, `a readable PEM file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  };
  return {
    ...(caPath !== undefined && { serverRootCACertificate: file('TEMPORAL_TLS_CA', caPath) }),
    ...(certPath !== undefined && keyPath !== undefined && { clientCertPair: { crt: file('TEMPORAL_TLS_CERT', certPath), key: file('TEMPORAL_TLS_KEY', keyPath) } }),
    ...(serverName !== undefined && { serverNameOverride: serverName }),
  };
}

/**
 * The default docker-compose.yml gives the API so that `docker compose up` works out of the box. It is
 * public, so it protects nothing: the API warns while it is in use.
 */
export const COMPOSE_DEFAULT_SECRET_DIGEST_KEY = 'compose-default-secret-digest-key-set-your-own-in-env';

/** Where a generated secret digest key is kept, beside the embedded database's folder. */
export const SECRET_DIGEST_KEY_FILE = 'secret-digest-key';

/**
 * The key for the keyed digests of API keys and connection passwords, for the API at start-up.
 *
 * - SECRET_DIGEST_KEY when set.
 * - Embedded PGlite without it (`make dev`, `npm run api` with no configuration): a random key
 *   generated once into `secret-digest-key` beside the database's folder and read back on every start.
 *   The key belongs with the data it protects, and PGlite has a single process, so one file serves.
 *   In-memory PGlite (tests) gets a key for the life of the process, as its data has.
 * - PostgreSQL without it: refused. Every API process must use the same key, and a key generated per
 *   host or container would lock merchants out at random; an operator sets it once, like a password.
 *
 * Changing the key later makes every stored keyed digest stop matching (all keys and passwords would
 * have to be rotated), which is why nothing here ever replaces an existing one.
 */
export function resolveSecretDigestKey(config: Pick<Config, 'secretDigestKey' | 'database'>): string {
  if (config.secretDigestKey !== null) return config.secretDigestKey;
  if ('url' in config.database) {
    throw new ConfigError(
      'SECRET_DIGEST_KEY is not set: it is required with DATABASE_URL (every API process must use the same key); generate one with "openssl rand -hex 32" and keep it with your other secrets',
    );
  }
  if (config.database.pglitePath === 'memory://') return randomBytes(32).toString('hex');
  const file = path.join(path.dirname(path.resolve(config.database.pglitePath)), SECRET_DIGEST_KEY_FILE);
  let key: string;
  try {
    key = keptSecret(file, () => randomBytes(32).toString('hex'));
  } catch (error) {
    throw new ConfigError(`cannot keep the generated secret digest key in ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}); set SECRET_DIGEST_KEY instead`);
  }
  const problem = secretDigestKeyProblem(key);
  if (problem) throw new ConfigError(`${file} does not hold a usable secret digest key: expected ${problem}`);
  return key;
}

/** For entry points: load the config or print the reason and exit 1 (no stack trace). */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}
