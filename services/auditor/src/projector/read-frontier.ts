/**
 * How far the auditor has read the log, in time: the newest moment whose log end offsets it has read past on every
 * partition. An event's causes were committed to the log before the event could be read (its producer read them,
 * or wrote them in the same transaction), so once the reader has passed the end offsets recorded after an event was
 * read, every cause of that event that exists has been read too. Only then may an absent cause be called missing:
 * quiet time alone is not enough, since a partition the auditor lags behind on (a burst, a restart re-reading, a
 * broker restart) can hold a cause for minutes.
 */

/** The log's end offsets, by `topic|partition`. */
export type EndOffsets = ReadonlyMap<string, bigint>;

/** The next offset the reader will read of a partition, if known. */
export type PositionOf = (topic: string, partition: number) => bigint | undefined;

interface Observation {
  readonly atMs: number;
  readonly ends: EndOffsets;
}

/** Observations kept while the reader lags; past this they are thinned out (every other one dropped). */
export const MAX_OBSERVATIONS = 64;

export const partitionKey = (topic: string, partition: number): string => `${topic}|${partition}`;

/** The end offsets of partitions that hold anything (`high > low`), keyed `topic|partition`. */
export function endOffsetsOf(
  offsets: ReadonlyArray<{
    readonly topic: string;
    readonly partitions: ReadonlyArray<{ partition: number; high: string; low: string }>;
  }>,
): Map<string, bigint> {
  const ends = new Map<string, bigint>();
  for (const { topic, partitions } of offsets) {
    for (const p of partitions) {
      if (BigInt(p.high) > BigInt(p.low)) ends.set(partitionKey(topic, p.partition), BigInt(p.high));
    }
  }
  return ends;
}

/** The moments whose end offsets were recorded, and the newest the reader has passed. */
export class ReadFrontier {
  private observations: Observation[] = [];
  private reached: number | undefined;

  /** Records the end offsets read at `atMs` (taken after every event read before `atMs`). */
  observe(atMs: number, ends: EndOffsets): void {
    this.observations.push({ atMs, ends });
    if (this.observations.length > MAX_OBSERVATIONS) {
      const newest = this.observations.at(-1)!;
      this.observations = [...this.observations.slice(0, -1).filter((_, i) => i % 2 === 0), newest];
    }
  }

  /**
   * The time of the newest observation the reader has passed on every partition (undefined before the first);
   * every event read up to then has all its existing causes read. Older observations are dropped.
   */
  advance(position: PositionOf): number | undefined {
    let passed = -1;
    this.observations.forEach((o, i) => {
      if (passedAll(o.ends, position)) passed = i;
    });
    if (passed >= 0) {
      this.reached = this.observations[passed]!.atMs;
      this.observations = this.observations.slice(passed + 1);
    }
    return this.reached;
  }

  /** The last time advance() found. */
  reachedAt(): number | undefined {
    return this.reached;
  }
}

function passedAll(ends: EndOffsets, position: PositionOf): boolean {
  for (const [key, end] of ends) {
    const bar = key.lastIndexOf('|');
    const at = position(key.slice(0, bar), Number(key.slice(bar + 1)));
    if (at === undefined || at < end) return false;
  }
  return true;
}
