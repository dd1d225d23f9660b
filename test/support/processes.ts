/** Real child processes for entry-point tests: output captured, exit awaited, signals sent. */
import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../runtime/temporal-cli';

export interface RunningProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output: () => string;
  /** The exit code (null when killed by a signal). */
  exit: Promise<number | null>;
  /** Resolves once the output contains `text`; rejects with the output so far on timeout or exit. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
}

/**
 * The production commands: what the Dockerfile, docker-compose.yml and package.json run, and what
 * test/production.test.ts starts. test/compose.test.ts checks the three agree with this.
 */
export const PRODUCTION_COMMANDS = {
  api: ['node', 'dist/api.js'],
  worker: ['node', 'dist/worker.js'],
  migrate: ['node', 'dist/migrate.js'],
} as const;

export function startProcess(command: readonly string[], env: Record<string, string>): RunningProcess {
  const [program, ...args] = command;
  const child = spawn(program!, args, { cwd: PROJECT_ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  return {
    child,
    output: () => output,
    exit,
    waitForOutput: (text, timeoutMs = 60_000) =>
      waitFor(
        () => {
          if (output.includes(text)) return true;
          if (exited) throw new Error(`${command.join(' ')} exited before saying "${text}"; it said:\n${output}`);
          return false;
        },
        () => `"${text}" from ${command.join(' ')}; it said:\n${output}`,
        timeoutMs,
      ),
  };
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
