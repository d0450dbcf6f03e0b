/**
 * Promise.all that waits for every task before rejecting. Concurrent create steps register their
 * own disposers; with plain Promise.all a fast failure would start the rollback while a sibling
 * step is still creating its resource, which then escapes the rollback.
 */
export async function settleAll<T extends readonly unknown[]>(
  tasks: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
