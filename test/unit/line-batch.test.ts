import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LineBatch, type LineOutput } from "../../src/observability/line-batch.js";

function fakeOutput() {
  const writes: string[] = [];
  let written = "";
  const out: LineOutput & { writes: string[]; written: () => string } = {
    writes,
    written: () => written,
    write(chunk: string) {
      writes.push(chunk);
      return true;
    },
    // What sonic-boom holds is written at its flush.
    flush: vi.fn((callback?: (error?: Error) => void) => {
      written = writes.join("");
      callback?.();
    }),
    flushSync: vi.fn(() => {
      written = writes.join("");
    }),
  };
  return out;
}

describe("log lines batched before sonic-boom", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("hands lines over in whole batches of at least minChars, in order", () => {
    const out = fakeOutput();
    const batch = new LineBatch(out, 100, 250);
    const lines = Array.from({ length: 25 }, (_, i) => `{"line":${i},"pad":"${"x".repeat(20)}"}\n`);
    for (const line of lines) batch.write(line);
    expect(out.writes.length).toBeGreaterThan(0);
    expect(out.writes.length).toBeLessThan(lines.length / 2);
    for (const chunk of out.writes) expect(chunk.length).toBeGreaterThanOrEqual(100);
    batch.flush();
    expect(out.writes.join("")).toBe(lines.join(""));
  });

  it("writes what is pending within one interval, and nothing when nothing is", () => {
    const out = fakeOutput();
    const batch = new LineBatch(out, 8192, 250);
    batch.write("one\n");
    expect(out.writes).toEqual([]);
    vi.advanceTimersByTime(250);
    expect(out.writes).toEqual(["one\n"]);
    expect(out.written()).toBe("one\n"); // sonic-boom told to write it now
    vi.advanceTimersByTime(1000);
    expect(out.flush).toHaveBeenCalledTimes(1);
  });

  it("flush hands over the pending lines before sonic-boom's flush calls back (the drain)", () => {
    const out = fakeOutput();
    const batch = new LineBatch(out, 8192, 250);
    batch.write("a\n");
    batch.write("b\n");
    const done = vi.fn();
    batch.flush(done);
    expect(out.written()).toBe("a\nb\n");
    expect(done).toHaveBeenCalledTimes(1);
    batch.write("c\n");
    batch.flushSync();
    expect(out.written()).toBe("a\nb\nc\n");
  });

  it("a process that exits without the drain (a crash) still writes the pending lines, synchronously", () => {
    // The exit listener is taken as the batch registers it: emitting "exit" here would reach the
    // test runner's own listeners too.
    const on = vi.spyOn(process, "on");
    const out = fakeOutput();
    const batch = new LineBatch(out, 8192, 250);
    const atExit = on.mock.calls.find(([event]) => event === "exit")?.[1] as (() => void) | undefined;
    on.mockRestore();
    batch.write("last words\n");
    expect(out.written()).toBe("");
    expect(atExit).toBeTypeOf("function");
    atExit?.();
    expect(out.flushSync).toHaveBeenCalledTimes(1);
    expect(out.written()).toBe("last words\n");
    process.removeListener("exit", atExit as () => void);
  });
});
