/** The part of sonic-boom (pino.destination) a batch writes into. */
export interface LineOutput {
  write(chunk: string): unknown;
  flush(callback?: (error?: Error) => void): void;
  flushSync(): void;
}

/**
 * Log lines collected into one string of at least `minChars` before they reach sonic-boom, which
 * then takes one write per batch instead of one per line. Why: sonic-boom measures the byte length
 * of its whole pending chunk on every write it takes, which flattens the chunk (a new copy of up to
 * its maxWrite) each time: with LOG_REQUESTS=all that was ≈ 2 KB allocated and a scan per
 * "request completed" line. Here a line is appended to a string (no copy) and counted in chars.
 * Every line goes through the batch, so the order of lines is kept. What is pending is handed over
 * and written at least every `intervalMs`, and at `flush`/`flushSync` (the drain) and at exit.
 */
export class LineBatch {
  private batch = "";
  private chars = 0;

  constructor(
    private readonly out: LineOutput,
    private readonly minChars: number,
    intervalMs: number,
  ) {
    setInterval(() => this.writeSoon(), intervalMs).unref();
    // A process that exits without the drain (a crash): sonic-boom writes what it holds
    // synchronously at exit; what this batch holds goes after it, the same way.
    process.on("exit", () => {
      try {
        this.flushSync();
      } catch {
        // Nothing more can be done for a log line at exit.
      }
    });
  }

  write(line: string): boolean {
    this.batch += line;
    this.chars += line.length;
    if (this.chars >= this.minChars) this.handOver();
    return true;
  }

  /** Hands every pending line over and calls back once sonic-boom has written them. */
  flush(callback?: (error?: Error) => void): void {
    this.handOver();
    this.out.flush(callback);
  }

  flushSync(): void {
    this.handOver();
    this.out.flushSync();
  }

  private writeSoon(): void {
    if (this.chars === 0) return;
    this.handOver();
    this.out.flush(); // less than sonic-boom's minimum write: written now, not at the next batch
  }

  private handOver(): void {
    if (this.chars === 0) return;
    const batch = this.batch;
    this.batch = "";
    this.chars = 0;
    this.out.write(batch);
  }
}
