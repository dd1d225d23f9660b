/** Running the ops CLI in-process and reading what it printed. */
import { vi } from 'vitest';
import { runOps } from '../../scripts/ops';

export async function runOpsCaptured(...argv: string[]): Promise<string> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
  try {
    await runOps(argv);
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}
