import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { App } from "../../bench/fleet/app-client.js";
import { poissonArrivals, type RequestRecord, runLoad } from "../../bench/fleet/load.js";

// The load is open-loop: each pod's app sends at its own Poisson times whatever the answers do,
// and a request counts only as a 2xx within the app's timeout. The clock (setTimeout and
// performance.now) is faked, so that times are exact and a 2-second load takes no time.

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const nowS = () => performance.now() / 1000;

interface Call {
  name: string;
  atS: number;
}

/** A fake app: answers each call with answer(index) after `afterMs` (0: at once), and notes its calls. */
function fakeApp(calls: Call[], answer: (index: number) => { status: number | undefined; afterMs: number }) {
  let index = 0;
  const app: App = {
    call(name) {
      calls.push({ name, atS: nowS() });
      const { status, afterMs } = answer(index++);
      if (afterMs === 0) return Promise.resolve({ status });
      return new Promise((resolve) => setTimeout(() => resolve({ status }), afterMs));
    },
    close: () => {},
  };
  return app;
}

/** Runs the load on the fake clock until no timer is left; fails at once if it has not ended then. */
async function drive(run: Promise<RequestRecord[]>) {
  let records: RequestRecord[] | undefined;
  void run.then((r) => {
    records = [...r]; // as the caller gets them, before any later answer
  });
  await vi.runAllTimersAsync();
  await new Promise((resolve) => setImmediate(resolve)); // setImmediate is not faked
  expect(records, "the load had not ended when no timer was left").toBeDefined();
  return records as RequestRecord[];
}

const MS = 0.002; // fake timers fire on whole milliseconds: within 2 ms of the time asked

describe("the fleet check's open-loop load", () => {
  it("sends each pod's requests at its own Poisson times, and records each once it has ended", async () => {
    const seed = 7;
    const pods = [0, 1, 2];
    const schedules = pods.map((pod) => poissonArrivals(10, 2, seed * 1000 + pod));
    const calls = pods.map((): Call[] => []);
    // Answers take 300 ms: the last ones end after the last arrival, and are waited for.
    const apps = pods.map((pod) => fakeApp(calls[pod] as Call[], () => ({ status: 200, afterMs: 300 })));
    const t0 = performance.now();
    const records = await drive(
      runLoad({ apps, ratePerPod: 10, seconds: 2, seed, appTimeoutMs: 1000, t0, marks: [] }),
    );

    for (const pod of pods) {
      const sent = (calls[pod] as Call[]).map((c) => c.atS - t0 / 1000);
      const schedule = schedules[pod] as number[];
      expect(sent).toHaveLength(schedule.length);
      sent.forEach((s, i) => {
        expect(s).toBeGreaterThanOrEqual((schedule[i] as number) - 1e-9);
        expect(s).toBeLessThan((schedule[i] as number) + MS);
      });
      expect((calls[pod] as Call[]).every((c) => c.name.startsWith(`pod${pod}-req`))).toBe(true);
    }
    // Names number the requests in the order they were sent, across the pods.
    const all = calls.flat().sort((a, b) => a.atS - b.atS);
    expect(new Set(all.map((c) => c.name.split("-req")[1])).size).toBe(all.length);
    expect(all.map((c) => Number(c.name.split("-req")[1])).sort((a, b) => a - b)).toEqual(
      all.map((_, i) => i),
    );

    const total = schedules.reduce((n, s) => n + s.length, 0);
    expect(records).toHaveLength(total);
    expect(records.map((r) => r.sentS)).toEqual([...records.map((r) => r.sentS)].sort((a, b) => a - b));
    for (const r of records) {
      expect(r.endS - r.sentS).toBeCloseTo(0.3, 2);
      expect(r.ok).toBe(true);
    }
    expect(records.filter((r) => r.pod === 2)).toHaveLength((schedules[2] as number[]).length);
  });

  it("ok: a 2xx answered within the app's timeout, and nothing else", async () => {
    // Call i gets answers[i % 7]: the 200 late (after the app's timeout of 500 ms) is not ok.
    const answers = [
      { status: 200, afterMs: 100, ok: true },
      { status: 299, afterMs: 0, ok: true },
      { status: 199, afterMs: 0, ok: false },
      { status: 300, afterMs: 0, ok: false },
      { status: 503, afterMs: 0, ok: false },
      { status: undefined, afterMs: 200, ok: false },
      { status: 200, afterMs: 700, ok: false },
    ];
    const answer = (i: number) => answers[i % answers.length] as (typeof answers)[number];
    const calls: Call[] = [];
    const t0 = performance.now();
    const records = await drive(
      runLoad({
        apps: [fakeApp(calls, answer)],
        ratePerPod: 10,
        seconds: 3,
        seed: 11,
        appTimeoutMs: 500,
        t0,
      }),
    );
    expect(records.length).toBeGreaterThanOrEqual(answers.length);
    expect(records).toHaveLength(calls.length);
    // Records are in the order sent; calls were sent at distinct times.
    expect(records.map((r) => r.ok)).toEqual(calls.map((_, i) => answer(i).ok));
  });

  it("runs the marks at their times, in order, between the arrivals and after the last one", async () => {
    const calls: Call[] = [];
    const t0 = performance.now();
    const ran: { name: string; atS: number; sentBefore: number }[] = [];
    const mark = (name: string, atS: number) => ({
      atS,
      run: () => ran.push({ name, atS: nowS() - t0 / 1000, sentBefore: calls.length }),
    });
    const schedule = poissonArrivals(10, 2, 5 * 1000);
    const records = await drive(
      runLoad({
        apps: [fakeApp(calls, () => ({ status: 200, afterMs: 50 }))],
        ratePerPod: 10,
        seconds: 2,
        seed: 5,
        appTimeoutMs: 1000,
        t0,
        // Given out of order; the last one is after the load's last arrival.
        marks: [mark("b", 1.5), mark("a", 0.5), mark("c", 2.5)],
      }),
    );
    expect(ran.map((r) => r.name)).toEqual(["a", "b", "c"]);
    ran.forEach((r, i) => {
      const atS = [0.5, 1.5, 2.5][i] as number;
      expect(r.atS).toBeGreaterThanOrEqual(atS - 1e-9);
      expect(r.atS).toBeLessThan(atS + MS);
      expect(r.sentBefore).toBe(schedule.filter((t) => t <= atS).length);
    });
    // The marks do not hold the arrivals back.
    calls.forEach((c, i) => {
      expect(c.atS - t0 / 1000).toBeLessThan((schedule[i] as number) + MS);
    });
    expect(records).toHaveLength(schedule.length);
  });

  it("sleeps until the next arrival or mark, instead of polling", async () => {
    const calls: Call[] = [];
    const schedule = poissonArrivals(10, 2, 3 * 1000);
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
    const records = await drive(
      runLoad({
        apps: [fakeApp(calls, () => ({ status: 200, afterMs: 0 }))],
        ratePerPod: 10,
        seconds: 2,
        seed: 3,
        appTimeoutMs: 1000,
        t0: performance.now(),
        marks: [{ atS: 1, run: () => {} }],
      }),
    );
    expect(records).toHaveLength(schedule.length);
    // One wake-up per arrival and mark (a few more where a timer fires a fraction of a ms early),
    // where polling would wake every millisecond: 2000 times.
    expect(setTimeoutSpy.mock.calls.length).toBeLessThan(2 * (schedule.length + 1) + 5);
  });
});
