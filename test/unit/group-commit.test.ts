import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../runtime/group-commit';

/** A commit function whose calls the test completes by hand. */
function manualCommits() {
  const calls: { items: number[]; finish: (error?: Error) => void }[] = [];
  const commit = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ items, finish: (error) => (error ? reject(error) : resolve()) });
    });
  return { calls, commit };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('GroupCommit', () => {
  it('commits an item on its own at once when nothing else is in flight', async () => {
    const { calls, commit } = manualCommits();
    const group = new GroupCommit(commit, { maxBatch: 10, maxInFlight: 1 });
    const done = group.add(1);
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    calls[0]!.finish();
    await expect(done).resolves.toBeUndefined();
  });

  it('items arriving while a commit is in flight share the next one, up to maxBatch', async () => {
    const { calls, commit } = manualCommits();
    const group = new GroupCommit(commit, { maxBatch: 3, maxInFlight: 1 });
    const all = [1, 2, 3, 4, 5, 6].map((i) => group.add(i));
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    expect(group.waiting).toBe(5);
    calls[0]!.finish();
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3, 4]]);
    calls[1]!.finish();
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3, 4], [5, 6]]);
    calls[2]!.finish();
    await expect(Promise.all(all)).resolves.toHaveLength(6);
  });

  it('runs at most maxInFlight commits at once', async () => {
    const { calls, commit } = manualCommits();
    const group = new GroupCommit(commit, { maxBatch: 100, maxInFlight: 2 });
    for (const i of [1, 2, 3, 4]) void group.add(i);
    expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
    calls[1]!.finish();
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1], [2], [3, 4]]);
  });

  it('a failed commit fails exactly its own callers; later items still commit', async () => {
    const { calls, commit } = manualCommits();
    const group = new GroupCommit(commit, { maxBatch: 10, maxInFlight: 1 });
    const first = group.add(1);
    const second = group.add(2);
    const third = group.add(3);
    calls[0]!.finish(new Error('unavailable'));
    await expect(first).rejects.toThrow('unavailable');
    await tick();
    expect(calls[1]!.items).toEqual([2, 3]);
    calls[1]!.finish();
    await expect(Promise.all([second, third])).resolves.toHaveLength(2);
  });

  it('a commit function that throws synchronously rejects its callers instead of wedging the queue', async () => {
    let attempt = 0;
    const group = new GroupCommit<number>(
      () => {
        if (attempt++ === 0) throw new Error('bad batch');
        return Promise.resolve();
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    await expect(group.add(1)).rejects.toThrow('bad batch');
    await expect(group.add(2)).resolves.toBeUndefined();
  });

  it('refuses a batch size or concurrency below one', () => {
    expect(() => new GroupCommit(async () => {}, { maxBatch: 0, maxInFlight: 1 })).toThrow(RangeError);
    expect(() => new GroupCommit(async () => {}, { maxBatch: 1, maxInFlight: 0 })).toThrow(RangeError);
  });
});
