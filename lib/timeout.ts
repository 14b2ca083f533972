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

/**
 * An AbortSignal that aborts with a "TimeoutError" after `ms` unless `work` settles first; unlike
 * `AbortSignal.timeout`, whose timer fires (and builds its DOMException) after every call, the
 * timer is cleared as soon as `work` is done.
 */
export async function withTimeoutSignal<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms`, "TimeoutError")), ms);
  timer.unref();
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
