/** Real child processes for entry-point tests: output captured, exit awaited, signals sent. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { PROJECT_ROOT } from '../../tooling/project-root';

export interface RunningProcess {
  child: ChildProcess;
  /** Everything this process wrote to stdout and stderr so far (not what its output file held before). */
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

/**
 * Starts a command with its output captured. With `outputFile`, stdout and stderr go straight to that
 * file, as a container runtime takes them: the process never waits on a reader (a benchmark must not
 * slow down what it measures by reading its logs through a pipe).
 */
export function startProcess(command: readonly string[], env: Record<string, string>, options: { outputFile?: string } = {}): RunningProcess {
  const [program, ...args] = command;
  // A file may hold earlier processes' output (a service restarted into the same log): this one's starts here.
  const startsAt = options.outputFile && existsSync(options.outputFile) ? statSync(options.outputFile).size : 0;
  const fd = options.outputFile ? openSync(options.outputFile, 'a') : null;
  const child = spawn(program!, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', fd ?? 'pipe', fd ?? 'pipe'],
  });
  let piped = '';
  if (fd !== null) closeSync(fd); // the child has its own copy
  else {
    child.stdout!.on('data', (d) => (piped += d));
    child.stderr!.on('data', (d) => (piped += d));
  }
  const output = () => (options.outputFile ? readFileSync(options.outputFile).subarray(startsAt).toString('utf8') : piped);
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  return {
    child,
    output,
    exit,
    waitForOutput: (text, timeoutMs = 60_000) =>
      waitFor(
        () => {
          if (output().includes(text)) return true;
          if (exited) throw new Error(`${command.join(' ')} exited before saying "${text}"; it said:\n${output()}`);
          return false;
        },
        () => `"${text}" from ${command.join(' ')}; it said:\n${output()}`,
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

/**
 * What a started stack must undo, undone last-started-first. Every step is best effort: a stack that
 * failed half-way through starting still tears down the rest.
 */
export class Teardown {
  private readonly steps: (() => unknown)[] = [];

  add(...steps: (() => unknown)[]): void {
    this.steps.push(...steps);
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // best effort: tear down the rest
      }
    }
  }
}
