/**
 * Counts attempts per key (scenario, step index, conversation fingerprint), in memory and bounded. This is the
 * server's only state: it lets a step fail its first N attempts and then succeed, while every other decision stays a
 * pure function of the request.
 */
export class AttemptCounter {
  readonly #maxKeys: number;
  readonly #counts = new Map<string, number>();
  #evicted = 0;

  /** @param maxKeys how many keys to remember; the oldest is forgotten (and counted) past this. */
  constructor(maxKeys: number) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1)
      throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}`);
    this.#maxKeys = maxKeys;
  }

  /** Records one attempt for the key and returns its number: 0 for the first, 1 for the second, ... */
  next(key: string): { attempt: number; evicted: boolean } {
    const seen = this.#counts.get(key);
    if (seen !== undefined) {
      this.#counts.set(key, seen + 1);
      return { attempt: seen, evicted: false };
    }
    let evicted = false;
    if (this.#counts.size >= this.#maxKeys) {
      const oldest = this.#counts.keys().next();
      if (oldest.done !== true) {
        this.#counts.delete(oldest.value);
        this.#evicted += 1;
        evicted = true;
      }
    }
    this.#counts.set(key, 1);
    return { attempt: 0, evicted };
  }

  /** Keys forgotten so far because the counter was full. */
  get evictedTotal(): number {
    return this.#evicted;
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.#counts.size;
  }

  /** Forgets every count (tests). */
  clear(): void {
    this.#counts.clear();
  }
}
