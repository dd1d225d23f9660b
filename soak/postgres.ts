/**
 * A private PostgreSQL cluster for the soak: created in a temporary folder, on a port of its own,
 * so killing it never touches the machine's shared server. Started as one process group (the
 * postmaster and its backends) that `kill()` ends with SIGKILL, the way an OOM killer or a lost
 * host ends a database; `start()` again runs crash recovery from the WAL on the same folder.
 *
 * PostgreSQL refuses to run as root: as root the binaries run as the `postgres` system user through
 * `setpriv` (which execs, so the process id is the postmaster's).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, openSync, closeSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';

/** The newest installed server's binaries (Debian layout), else whatever `pg_config` names. */
function serverBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], 'bin');
  }
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and pg_config --bindir); install postgresql');
  }
}

interface RunAs {
  prefix: string[];
  uid: number | null;
  gid: number | null;
}

function runAs(): RunAs {
  if (process.getuid?.() !== 0) return { prefix: [], uid: null, gid: null };
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { prefix: ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--'], uid: id('-u'), gid: id('-g') };
}

export interface PrivatePostgres {
  port: number;
  /** The soak's database on this cluster. */
  url: string;
  dataDir: string;
  running(): boolean;
  start(): Promise<void>;
  /** SIGKILL to the postmaster and every backend. */
  kill(): Promise<void>;
  /** A clean shutdown and the folder removed. */
  destroy(): Promise<void>;
}

export async function createPrivatePostgres(options: { port: number; logFile: string }): Promise<PrivatePostgres> {
  const bin = serverBinDir();
  const as = runAs();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ssw-soak-pg-'));
  if (as.uid !== null) chownSync(dataDir, as.uid, as.gid!);
  // fsync stays on: the soak is about what survives a crash.
  const initdb = [...as.prefix, path.join(bin, 'initdb'), '-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8'];
  execFileSync(initdb[0]!, initdb.slice(1), { stdio: 'ignore' });

  let child: ChildProcess | null = null;
  const url = `postgres://postgres@127.0.0.1:${options.port}/soak`;

  const ready = async (deadlineMs: number) => {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      if (!child || child.exitCode !== null || child.signalCode !== null) return false;
      const probe = postgres(`postgres://postgres@127.0.0.1:${options.port}/postgres`, { max: 1, connect_timeout: 2, onnotice: () => {} });
      try {
        await probe`select 1`;
        return true;
      } catch {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 200));
      } finally {
        await probe.end({ timeout: 1 }).catch(() => {});
      }
    }
  };

  const launch = () => {
    const log = openSync(options.logFile, 'a');
    const args = ['-D', dataDir, '-p', String(options.port), '-k', dataDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=60', '-c', 'shared_buffers=64MB'];
    const command = [...as.prefix, path.join(bin, 'postgres'), ...args];
    // Its own process group, so one signal reaches the postmaster and all its backends.
    child = spawn(command[0]!, command.slice(1), { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
  };

  const pg: PrivatePostgres = {
    port: options.port,
    url,
    dataDir,
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
    async start() {
      // After a SIGKILL, backends that had not yet noticed their postmaster's death may still hold the
      // shared memory for a moment; the postmaster then refuses to start. Try again until it is free.
      for (let attempt = 1; ; attempt++) {
        launch();
        if (await ready(30_000)) return;
        if (pg.running()) process.kill(-child!.pid!, 'SIGKILL');
        if (attempt >= 10) throw new Error(`the private PostgreSQL did not start; see ${options.logFile}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    },
    async kill() {
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise((resolve) => current.once('exit', resolve));
      try {
        process.kill(-current.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
    async destroy() {
      const current = child;
      if (current && current.exitCode === null && current.signalCode === null) {
        const exited = new Promise((resolve) => current.once('exit', resolve));
        process.kill(current.pid!, 'SIGINT'); // fast shutdown
        const timer = setTimeout(() => {
          try {
            process.kill(-current.pid!, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }, 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };

  await pg.start();
  const admin = postgres(`postgres://postgres@127.0.0.1:${options.port}/postgres`, { max: 1, onnotice: () => {} });
  await admin.unsafe('create database soak');
  await admin.end({ timeout: 5 });
  return pg;
}
