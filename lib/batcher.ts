/**
 * Group commit, leader/follower style: items submitted while no batch is in flight start one at
 * once (after a setImmediate, so the arrivals of the same tick join it); items submitted while a
 * batch is in flight wait, and the next batch takes all of them, up to `maxBatch`. One batch runs
 * at a time, so the batch grows with the load and a quiet system pays no extra latency.
 */

/** What `decide` answers for one item: its value, or the error its submitter gets. */
export type Outcome<O> = { value: O } | { error: unknown };

interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
}

/**
 * `decide` answers every item of a batch, in order; when it throws, every item of that batch gets
 * the error (and the next batch runs as usual).
 */
export function createBatcher<I, O>(decide: (items: I[]) => Promise<Outcome<O>[]>, maxBatch: number): Batcher<I, O> {
  const queue: Waiting<I, O>[] = [];
  let running = false;

  async function runBatch(batch: Waiting<I, O>[]): Promise<void> {
    try {
      const outcomes = await decide(batch.map((waiting) => waiting.item));
      batch.forEach((waiting, i) => {
        const outcome = outcomes[i]!;
        if ("value" in outcome) waiting.resolve(outcome.value);
        else waiting.reject(outcome.error);
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) await runBatch(queue.splice(0, maxBatch));
    running = false;
  }

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (running) return;
        running = true;
        setImmediate(drain);
      });
    },
  };
}
