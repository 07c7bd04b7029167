/**
 * Which tools have an open executor breaker, as this replica heard (BreakerOpened / BreakerClosed with scope
 * "tool", and ToolFailed "breaker_open"). An open breaker is forgotten after `ttlMs` (the executor's reset time) so a
 * lost BreakerClosed cannot hide a tool for ever. Tools in this set are not offered to the model.
 */
export class OpenTools {
  private readonly openedAt = new Map<string, number>();

  constructor(private readonly ttlMs: number) {}

  /** Records that a tool's breaker opened at `atMs`. */
  opened(tool: string, atMs: number): void {
    this.openedAt.set(tool, Math.max(atMs, this.openedAt.get(tool) ?? 0));
  }

  /** Records that a tool's breaker closed. */
  closed(tool: string): void {
    this.openedAt.delete(tool);
  }

  /** The tools open at `nowMs`. */
  current(nowMs: number): ReadonlySet<string> {
    const out = new Set<string>();
    for (const [tool, at] of this.openedAt) {
      if (nowMs - at < this.ttlMs) out.add(tool);
      else this.openedAt.delete(tool);
    }
    return out;
  }
}
