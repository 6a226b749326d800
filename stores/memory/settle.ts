/**
 * The memory stores do their work synchronously (which is what makes each
 * call atomic) and answer with a promise, as the ports require: a result
 * resolves it, a throw rejects it, never a synchronous exception.
 */
export function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}
