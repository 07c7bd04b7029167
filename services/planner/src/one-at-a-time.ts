/** Runs async work one at a time per key, in the order it was asked for; keys with nothing waiting are forgotten. */
export class OneAtATime {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` after the work asked for earlier under the same key has settled (whatever its outcome). */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.tails.get(key) ?? Promise.resolve()).then(fn);
    const settled = run.catch(() => undefined);
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return run;
  }
}
