/**
 * `work`, or a "timed out" rejection after `ms`, for calls that take no AbortSignal (a Redis
 * command, a JetStream info request). `work` itself keeps running; the timer never holds the process.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, expiry]);
  } finally {
    clearTimeout(timer);
  }
}
