/**
 * Proves, end to end and without mocks, that both Temporal connections the service makes — the API's
 * client (`connectClient`, grpc-js) and the worker's native connection (`connectWorker`, Rust core
 * with rustls) — really work over TLS and mutual TLS with settings read by `loadConfig` from the
 * TEMPORAL_TLS_* variables, and that they are refused when the settings are wrong.
 *
 * Why a proxy: the Temporal dev server only speaks plaintext gRPC. A TLS-terminating proxy in this
 * process stands in for a TLS-fronted cluster: gRPC is HTTP/2, which the clients speak inside TLS
 * after agreeing on "h2" via ALPN and which the dev server accepts in plaintext, so once decrypted
 * the bytes can be piped through unchanged. The certificates are made by the `openssl` CLI, as an
 * operator would, so nothing here shares code with what it checks.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Connection, type Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { loadConfig, type Config } from '../runtime/config';
import { connectClient, connectWorker, temporalConnectionOptions } from '../temporal/connection';

/**
 * The only name in the server certificate. The proxy listens on 127.0.0.1, which the certificate
 * deliberately does not name, so a connection succeeds only if TEMPORAL_TLS_SERVER_NAME is honoured.
 */
const SERVER_NAME = 'temporal.test';
/** The common name of the connector's client certificate (mTLS). */
const CLIENT_NAME = 'shipstation-connector';
/**
 * How long a connection that should be refused may keep trying. grpc-js retries a failed handshake
 * until its connect deadline (10s by default), so the failure cases shorten it to stay fast.
 */
const REFUSAL_DEADLINE_MS = 2_000;
/** Upper bound for any single connection attempt, so a hang fails the test instead of stalling it. */
const ATTEMPT_LIMIT_MS = 15_000;

// ---------------------------------------------------------------------------------------------
// Certificates

interface Pki {
  dir: string;
  /** PEM file paths, as an operator would hand them to TEMPORAL_TLS_CA / _CERT / _KEY. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here (same name as the real one: only the key can tell them apart). */
  impostorCaCert: string;
}

/**
 * Explicit v3 extensions, because rustls (webpki) rejects what a lenient verifier accepts: the CA
 * must say CA:TRUE and keyCertSign, the leaves need the right extended key usage, and the server
 * name must be a subjectAltName (the common name is ignored).
 */
const OPENSSL_CONFIG = `
[req]
distinguished_name = subject
prompt = no
[subject]
CN = unused

[ca_cert]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_cert]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:${SERVER_NAME}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_cert]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

function makePki(): Pki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-'));
  const configFile = path.join(dir, 'openssl.cnf');
  writeFileSync(configFile, OPENSSL_CONFIG);
  const file = (name: string) => path.join(dir, name);
  // stderr is kept so a failing openssl call explains itself in the thrown error.
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  // EC P-256 keys are quick to make; genpkey writes PKCS#8, which both rustls and Node read.
  const newKey = (name: string) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(name));
  const newCa = (name: string) => {
    newKey(`${name}.key`);
    openssl('req', '-x509', '-new', '-sha256', '-days', '2', '-config', configFile, '-extensions', 'ca_cert',
      '-key', file(`${name}.key`), '-subj', '/CN=Connector Test CA', '-out', file(`${name}.crt`));
  };
  const newLeaf = (name: string, commonName: string, extensions: 'server_cert' | 'client_cert') => {
    newKey(`${name}.key`);
    openssl('req', '-new', '-config', configFile, '-key', file(`${name}.key`), '-subj', `/CN=${commonName}`, '-out', file(`${name}.csr`));
    openssl('x509', '-req', '-sha256', '-days', '2', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'),
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-extfile', configFile, '-extensions', extensions, '-out', file(`${name}.crt`));
  };
  newCa('ca');
  newCa('impostor-ca');
  newLeaf('server', SERVER_NAME, 'server_cert');
  newLeaf('client', CLIENT_NAME, 'client_cert');
  return {
    dir,
    caCert: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    impostorCaCert: file('impostor-ca.crt'),
  };
}

// ---------------------------------------------------------------------------------------------
// TLS-terminating proxy

interface TlsProxy {
  /** host:port for TEMPORAL_ADDRESS. */
  address: string;
  /** Connections that completed the handshake and were piped to the dev server. */
  forwarded: number;
  /** Handshakes the proxy refused or that failed (Node's error codes), in order. */
  handshakeErrors: string[];
  /** Common names of the client certificates the proxy accepted. */
  clientNames: string[];
  close(): Promise<void>;
}

async function startTlsProxy(options: { upstream: string; pki: Pki; requireClientCert: boolean }): Promise<TlsProxy> {
  const split = options.upstream.lastIndexOf(':');
  const upstreamHost = options.upstream.slice(0, split);
  const upstreamPort = Number(options.upstream.slice(split + 1));
  // Every socket, decrypted or not, so close() can cut them all and vitest can exit.
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  const server = tls.createServer(
    {
      key: readFileSync(options.pki.serverKey),
      cert: readFileSync(options.pki.serverCert),
      ca: readFileSync(options.pki.caCert),
      requestCert: options.requireClientCert,
      rejectUnauthorized: options.requireClientCert,
      // gRPC clients insist on HTTP/2 being agreed during the handshake.
      ALPNProtocols: ['h2'],
    },
    (secure) => {
      proxy.forwarded++;
      if (options.requireClientCert) proxy.clientNames.push(String(secure.getPeerCertificate().subject?.CN));
      const plain = net.connect({ host: upstreamHost, port: upstreamPort });
      track(plain);
      secure.pipe(plain).pipe(secure);
      // A failure on one side must end the other, or a client would wait on a half-dead pipe.
      secure.on('error', () => plain.destroy());
      plain.on('error', () => secure.destroy());
      secure.on('close', () => plain.destroy());
      plain.on('close', () => secure.destroy());
    },
  );
  server.on('connection', track);
  server.on('tlsClientError', (error: NodeJS.ErrnoException) => proxy.handshakeErrors.push(error.code ?? error.message));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;

  const proxy: TlsProxy = {
    address: `127.0.0.1:${port}`,
    forwarded: 0,
    handshakeErrors: [],
    clientNames: [],
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
  return proxy;
}

// ---------------------------------------------------------------------------------------------
// Connection helpers

type TemporalSettings = Config['temporal'];

/** Rejects if `promise` has not settled in time, so a hanging connection fails loudly. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms}ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The API's connection attempt for a case that must fail: the very options `connectClient` uses,
 * only with a short connect deadline. A lazy connection is used so it can be closed afterwards
 * either way — a failed `Connection.connect` would leave its channel retrying in the background.
 */
async function clientConnectError(target: TemporalSettings): Promise<unknown> {
  const connection = Connection.lazy({ ...temporalConnectionOptions(target), connectTimeout: REFUSAL_DEADLINE_MS });
  try {
    await within(connection.ensureConnected(), ATTEMPT_LIMIT_MS, 'client connection');
    return null;
  } catch (error) {
    return error;
  } finally {
    await connection.close();
  }
}

/** The worker's connection attempt for a case that must fail (it makes one GetSystemInfo call). */
async function workerConnectError(target: TemporalSettings): Promise<unknown> {
  try {
    const connection = await within(connectWorker(target), ATTEMPT_LIMIT_MS, 'worker connection');
    await connection.close();
    return null;
  } catch (error) {
    return error;
  }
}

// ---------------------------------------------------------------------------------------------

describe('Temporal connections over TLS, configured by the TEMPORAL_TLS_* variables', () => {
  const namespace = inject('temporalNamespace');
  let pki: Pki;
  let tlsProxy: TlsProxy;
  let mtlsProxy: TlsProxy;
  const clients: Client[] = [];
  const workerConnections: NativeConnection[] = [];

  /** What the service would load from its environment, pointed at one of the proxies. */
  const settings = (proxy: TlsProxy, env: Record<string, string>): TemporalSettings =>
    loadConfig({ TEMPORAL_ADDRESS: proxy.address, TEMPORAL_NAMESPACE: namespace, ...env }).temporal;

  /** Connects both ways with the production functions and makes a real call on each. */
  async function expectBothConnect(target: TemporalSettings) {
    const client = await within(connectClient(target), ATTEMPT_LIMIT_MS, 'connectClient');
    clients.push(client);
    const fromClient = await client.workflowService.getSystemInfo({});
    expect(fromClient.capabilities).toBeTruthy();

    const worker = await within(connectWorker(target), ATTEMPT_LIMIT_MS, 'connectWorker');
    workerConnections.push(worker);
    const fromWorker = await worker.workflowService.getSystemInfo({});
    expect(fromWorker.capabilities).toBeTruthy();
    // The namespace the worker would poll is reachable through the tunnel too.
    const described = await worker.workflowService.describeNamespace({ namespace });
    expect(described.namespaceInfo?.name).toBe(namespace);
  }

  /**
   * Both connection kinds fail, and the proxy shows it was the handshake that stopped them: nothing
   * reached Temporal, and (when given) the proxy reported the expected TLS error.
   */
  async function expectBothRefused(proxy: TlsProxy, target: TemporalSettings, proxyError?: string) {
    const forwardedBefore = proxy.forwarded;
    const errorsBefore = proxy.handshakeErrors.length;
    expect(await clientConnectError(target)).toBeInstanceOf(Error);
    expect(await workerConnectError(target)).toBeInstanceOf(Error);
    // The proxy may log a failed handshake a moment after the client has given up.
    await vi.waitFor(() => {
      const seen = proxy.handshakeErrors.slice(errorsBefore);
      expect(seen.length).toBeGreaterThanOrEqual(2);
      if (proxyError) expect(seen).toContain(proxyError);
    });
    expect(proxy.forwarded).toBe(forwardedBefore);
  }

  beforeAll(async () => {
    pki = makePki();
    const upstream = inject('temporalAddress');
    [tlsProxy, mtlsProxy] = await Promise.all([
      startTlsProxy({ upstream, pki, requireClientCert: false }),
      startTlsProxy({ upstream, pki, requireClientCert: true }),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([...clients.map((c) => c.connection.close()), ...workerConnections.map((c) => c.close())]);
    await Promise.allSettled([tlsProxy?.close(), mtlsProxy?.close()]);
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  describe('server certificate (TLS)', () => {
    it('connects the client and the worker trusting TEMPORAL_TLS_CA, under TEMPORAL_TLS_SERVER_NAME', async () => {
      const target = settings(tlsProxy, { TEMPORAL_TLS_CA: pki.caCert, TEMPORAL_TLS_SERVER_NAME: SERVER_NAME });
      expect(target.tls).toMatchObject({ serverNameOverride: SERVER_NAME });
      expect(target.tls?.serverRootCACertificate).toBeInstanceOf(Buffer);
      const forwardedBefore = tlsProxy.forwarded;
      await expectBothConnect(target);
      expect(tlsProxy.forwarded).toBeGreaterThanOrEqual(forwardedBefore + 2);
    });

    it('refuses a plaintext config (no TLS settings) against the TLS endpoint', async () => {
      const target = settings(tlsProxy, {});
      expect(target.tls).toBeNull();
      // The clients' plaintext HTTP/2 preface is not a TLS record.
      await expectBothRefused(tlsProxy, target, 'ERR_SSL_WRONG_VERSION_NUMBER');
    });

    it('refuses a server certificate the configured CA did not sign', async () => {
      const target = settings(tlsProxy, { TEMPORAL_TLS_CA: pki.impostorCaCert, TEMPORAL_TLS_SERVER_NAME: SERVER_NAME });
      // Here the client is the one refusing; how the proxy sees it go (reset or alert) varies by client.
      await expectBothRefused(tlsProxy, target);
    });
  });

  describe('client certificate (mTLS)', () => {
    it('connects the client and the worker presenting TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY', async () => {
      const target = settings(mtlsProxy, {
        TEMPORAL_TLS_CA: pki.caCert,
        TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
        TEMPORAL_TLS_CERT: pki.clientCert,
        TEMPORAL_TLS_KEY: pki.clientKey,
      });
      expect(target.tls?.clientCertPair?.crt).toBeInstanceOf(Buffer);
      const acceptedBefore = mtlsProxy.clientNames.length;
      await expectBothConnect(target);
      // Both connections showed the proxy the configured certificate.
      const accepted = mtlsProxy.clientNames.slice(acceptedBefore);
      expect(accepted.length).toBeGreaterThanOrEqual(2);
      expect(new Set(accepted)).toEqual(new Set([CLIENT_NAME]));
    });

    it('is refused without a client certificate', async () => {
      const target = settings(mtlsProxy, { TEMPORAL_TLS_CA: pki.caCert, TEMPORAL_TLS_SERVER_NAME: SERVER_NAME });
      expect(target.tls?.clientCertPair).toBeUndefined();
      await expectBothRefused(mtlsProxy, target, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    });
  });
});
