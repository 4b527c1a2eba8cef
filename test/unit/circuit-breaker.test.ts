import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CircuitBreaker, type CircuitState } from "../../src/retry/circuit-breaker.js";

function breaker(failureThreshold = 3, openMs = 10_000) {
  const clock = { now: 0 };
  const changes: CircuitState[] = [];
  const cb = new CircuitBreaker(
    { failureThreshold, openMs },
    () => clock.now,
    (s) => changes.push(s),
  );
  return { clock, cb, changes };
}

describe("circuit breaker", () => {
  it("opens after N consecutive retryable outcomes, and a success in between resets the count", () => {
    const { cb } = breaker(3);
    cb.record(true);
    cb.record(true);
    cb.record(false);
    cb.record(true);
    cb.record(true);
    expect(cb.current()).toBe("closed");
    cb.record(true);
    expect(cb.current()).toBe("open");
  });

  it("refuses while open, with the time left", () => {
    const { cb, clock } = breaker(1, 10_000);
    cb.record(true);
    clock.now = 2_500;
    expect(cb.admit()).toEqual({ admitted: false, retryAfterMs: 7_500 });
  });

  it("lets exactly one probe through after the open period; others are refused meanwhile", () => {
    const { cb, clock } = breaker(1, 1000);
    cb.record(true);
    clock.now = 1000;
    expect(cb.admit()).toEqual({ admitted: true, probe: true });
    expect(cb.current()).toBe("half-open");
    expect(cb.admit().admitted).toBe(false);
    expect(cb.admit().admitted).toBe(false);
  });

  it("closes on the probe's non-retryable outcome", () => {
    const { cb, clock, changes } = breaker(1, 1000);
    cb.record(true);
    clock.now = 1000;
    cb.admit();
    cb.record(false, true);
    expect(cb.current()).toBe("closed");
    expect(cb.admit()).toEqual({ admitted: true, probe: false });
    expect(changes).toEqual(["open", "half-open", "closed"]);
  });

  it("reopens on the probe's retryable outcome, for a full period", () => {
    const { cb, clock, changes } = breaker(1, 1000);
    cb.record(true);
    clock.now = 1000;
    cb.admit();
    clock.now = 1200;
    cb.record(true, true);
    expect(cb.current()).toBe("open");
    expect(cb.admit()).toEqual({ admitted: false, retryAfterMs: 1000 });
    expect(changes).toEqual(["open", "half-open", "open"]);
    clock.now = 2200; // that period over: the next request probes again
    expect(cb.admit()).toEqual({ admitted: true, probe: true });
  });

  it("counts only the probe's outcome while not closed: answers from before it opened change nothing", () => {
    const { cb, clock, changes } = breaker(1, 1000);
    cb.record(true);
    clock.now = 300;
    cb.record(false); // a slow request admitted before the circuit opened answers fine
    expect(cb.current()).toBe("open");
    expect(cb.admit()).toEqual({ admitted: false, retryAfterMs: 700 });
    clock.now = 1000;
    expect(cb.admit()).toEqual({ admitted: true, probe: true });
    cb.record(false); // another old one, while the probe is out
    cb.record(true);
    expect(cb.current()).toBe("half-open");
    expect(cb.admit().admitted).toBe(false); // still one probe at a time
    cb.record(false, true);
    expect(cb.current()).toBe("closed");
    expect(changes).toEqual(["open", "half-open", "closed"]);
  });

  it("lets the next request probe when the probe's client went away", () => {
    const { cb, clock } = breaker(1, 1000);
    cb.record(true);
    clock.now = 1000;
    expect(cb.admit()).toMatchObject({ probe: true });
    cb.releaseProbe();
    expect(cb.admit()).toMatchObject({ admitted: true, probe: true });
  });

  it("blocks retries while open, and retries of non-probe requests while half-open", () => {
    const { cb, clock } = breaker(1, 1000);
    expect(cb.blocksRetry(false)).toBe(false);
    cb.record(true);
    expect(cb.blocksRetry(false)).toBe(true);
    clock.now = 1000;
    expect(cb.blocksRetry(false)).toBe(true);
    expect(cb.blocksRetry(true)).toBe(false);
  });

  it("threshold 0 turns it off", () => {
    const { cb } = breaker(0);
    for (let i = 0; i < 100; i++) cb.record(true);
    expect(cb.admit()).toEqual({ admitted: true, probe: false });
    expect(cb.blocksRetry(false)).toBe(false);
  });

  it("keeps its invariants under any sequence of events", () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant("admit" as const) }),
      fc.record({ op: fc.constant("record" as const), retryable: fc.boolean(), probe: fc.boolean() }),
      fc.record({ op: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 2000 }) }),
      fc.record({ op: fc.constant("release" as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(step, { maxLength: 200 }), (threshold, steps) => {
        const { cb, clock } = breaker(threshold, 1000);
        let consecutive = 0;
        let probesOut = 0;
        for (const s of steps) {
          const before = cb.current();
          if (s.op === "tick") clock.now += s.ms;
          else if (s.op === "release") {
            cb.releaseProbe();
            probesOut = 0;
          } else if (s.op === "record") {
            cb.record(s.retryable, s.probe);
            if (before === "closed") {
              consecutive = s.retryable ? consecutive + 1 : 0;
              if (consecutive >= threshold && cb.current() !== "open") return false;
              if (!s.retryable && cb.current() !== "closed") return false;
            } else if (!s.probe) {
              if (cb.current() !== before) return false; // only the probe moves it
            } else {
              // The probe's success closes, its failure opens again.
              if (cb.current() !== (s.retryable ? "open" : "closed")) return false;
              consecutive = 0;
            }
            if (cb.current() !== "half-open") probesOut = 0;
          } else {
            const a = cb.admit();
            if (before === "closed" && !a.admitted) return false; // closed never refuses
            if (a.admitted && a.probe) probesOut += 1;
            if (!a.admitted && (a.retryAfterMs <= 0 || a.retryAfterMs > 1000)) return false;
            if (probesOut > 1) return false; // never two probes at once
          }
        }
        return true;
      }),
    );
  });
});
