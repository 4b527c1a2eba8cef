/** A counter's labelled child, as prom-client gives it. */
interface CounterChild {
  inc(value?: number): void;
}

/**
 * One series of a per-request counter, added up in a plain number and handed to prom-client at
 * each scrape (the counter's `collect`): prom-client's own `inc()` builds a label hash string and
 * a result object on every call, which per request was allocation for nothing. A scrape sees
 * every increment made before it, so what Prometheus reads is the same.
 */
export class PendingCount {
  private pending = 0;

  constructor(private readonly child: CounterChild) {}

  inc(): void {
    this.pending += 1;
  }

  flush(): void {
    if (this.pending === 0) return;
    this.child.inc(this.pending);
    this.pending = 0;
  }
}

/** The pending series of one counter; `flush` is its `collect`. */
export class PendingCounts {
  private readonly cells: PendingCount[] = [];

  of(child: CounterChild): PendingCount {
    const cell = new PendingCount(child);
    this.cells.push(cell);
    return cell;
  }

  flush(): void {
    for (const cell of this.cells) cell.flush();
  }
}
