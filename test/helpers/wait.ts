/** Waiting in tests for something that happens asynchronously, instead of a fixed sleep that a loaded machine may outlast. */

/** Resolves once `ready()` holds, checking every `everyMs`; rejects naming `what` after `timeoutMs`. */
export async function waitFor(ready: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 10): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
