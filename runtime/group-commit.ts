/**
 * Group commit: callers add an item and wait until it is committed. At most `maxInFlight` commits
 * run at once, each taking what has queued meanwhile (up to `maxBatch`). Alone, an item is committed
 * at once, on its own; under load, many share one commit, so the cost per item falls as load rises
 * and nobody waits for a timer. A failed commit fails every caller in it; nothing is retried here.
 */
export class GroupCommit<T> {
  private readonly queue: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private inFlight = 0;

  constructor(
    private readonly commit: (items: T[]) => Promise<void>,
    private readonly options: { maxBatch: number; maxInFlight: number },
  ) {
    if (!(options.maxBatch >= 1 && options.maxInFlight >= 1)) throw new RangeError('maxBatch and maxInFlight must be at least 1');
  }

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** Items waiting for a commit slot (for metrics and tests). */
  get waiting(): number {
    return this.queue.length;
  }

  private pump() {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      let committed: Promise<void>;
      try {
        committed = this.commit(batch.map((entry) => entry.item));
      } catch (error) {
        committed = Promise.reject(error);
      }
      committed
        .then(
          () => batch.forEach((entry) => entry.resolve()),
          (error: unknown) => batch.forEach((entry) => entry.reject(error)),
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
