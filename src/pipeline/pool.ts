/** The pipeline's one concurrency helper: at most `limit` of the functions given to a gate run at once. */
export function createGate(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  const max = Math.max(1, limit);
  return async (fn) => {
    if (running >= max) await new Promise<void>((resolve) => queue.push(resolve));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      queue.shift()?.();
    }
  };
}

/** Runs `work` over `items`, at most `limit` at once; resolves when all are done. */
export async function mapPool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  const gate = createGate(limit);
  await Promise.all(items.map((item, i) => gate(() => work(item, i))));
}
