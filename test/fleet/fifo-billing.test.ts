import { request } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FifoWorkers } from "../../bench/fleet/fifo-workers.js";
import { AttemptCounter, type RunningUpstream, startModel } from "../../bench/fleet/upstream-servers.js";

// The overload scenario's billing: one FIFO queue in front of a few workers, whose work is done
// even for callers that have left. Without that, a capacity drop could not leave a queue behind.

/** A manual clock: `schedule` queues timers, `advance` runs those that are due, in time order. */
function manualTimers() {
  let now = 0;
  const timers: { at: number; run: () => void }[] = [];
  return {
    now: () => now,
    schedule: (ms: number, run: () => void) => void timers.push({ at: now + ms, run }),
    advance(ms: number) {
      const until = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (next === undefined || next.at > until) break;
        timers.shift();
        now = next.at;
        next.run();
      }
      now = until;
    },
  };
}

describe("FifoWorkers", () => {
  it("serves in arrival order, `workers` at a time, each for the service time of its start", () => {
    const clock = manualTimers();
    let serviceMs = 100;
    const fifo = new FifoWorkers({ workers: 2, serviceMs: () => serviceMs, schedule: clock.schedule });
    const answered: [number, number][] = [];
    for (let id = 0; id < 5; id++)
      fifo.submit({ answer: () => answered.push([id, clock.now()]), gone: () => false });
    expect(fifo.counts).toMatchObject({ busy: 2, queued: 3, done: 0 });
    // The capacity drops: the two jobs in service keep their 100 ms, those started later take 500.
    serviceMs = 500;
    clock.advance(1100);
    expect(answered).toEqual([
      [0, 100],
      [1, 100],
      [2, 600],
      [3, 600],
      [4, 1100],
    ]);
    expect(fifo.counts).toMatchObject({ busy: 0, queued: 0, done: 5, doneForGone: 0 });
  });

  it("does the work of a caller that left, and it still holds up the jobs behind it", () => {
    const clock = manualTimers();
    const fifo = new FifoWorkers({ workers: 1, serviceMs: () => 100, schedule: clock.schedule });
    const answered: number[] = [];
    const left = new Set([0, 1]);
    for (let id = 0; id < 3; id++)
      fifo.submit({ answer: () => answered.push(clock.now()), gone: () => left.has(id) });
    clock.advance(1000);
    expect(answered).toEqual([300]);
    expect(fifo.counts).toMatchObject({ done: 3, doneForGone: 2 });
  });

  it("says how long a job submitted now would wait: nothing while a worker is idle", () => {
    const clock = manualTimers();
    const fifo = new FifoWorkers({ workers: 2, serviceMs: () => 100, schedule: clock.schedule });
    const job = { answer: () => {}, gone: () => false };
    fifo.submit(job);
    expect(fifo.queueWaitMs()).toBe(0);
    fifo.submit(job);
    expect(fifo.queueWaitMs()).toBe(50); // both busy: half a service time, two at a time
    fifo.submit(job);
    fifo.submit(job);
    expect(fifo.queueWaitMs()).toBe(150);
  });

  it("still serves in arrival order across the queue's compaction, in a long run", () => {
    const clock = manualTimers();
    const fifo = new FifoWorkers({ workers: 1, serviceMs: () => 1, schedule: clock.schedule });
    const answered: number[] = [];
    const submit = (id: number) => fifo.submit({ answer: () => answered.push(id), gone: () => false });
    // 2000 queued at once; the consumed prefix is dropped part-way (past 1024) with jobs still behind it.
    for (let id = 0; id < 2000; id++) submit(id);
    clock.advance(1500);
    expect(answered).toHaveLength(1500);
    // Jobs that arrive after the compaction still go behind those waiting.
    for (let id = 2000; id < 3500; id++) submit(id);
    clock.advance(5000);
    expect(answered).toEqual(Array.from({ length: 3500 }, (_, id) => id));
    expect(fifo.counts).toMatchObject({ done: 3500, doneForGone: 0, queued: 0, busy: 0 });
  });
});

function post(
  port: number,
  abortAfterMs?: number,
): Promise<{ status?: number; at: number; retryAfter?: string | string[] }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/provider", method: "POST", agent: false });
    req.once("response", (res) => {
      res.resume();
      const retryAfter = res.headers["retry-after"];
      res.once("end", () =>
        resolve({
          status: res.statusCode,
          at: performance.now() - started,
          ...(retryAfter === undefined ? {} : { retryAfter }),
        }),
      );
    });
    req.once("error", () => resolve({ at: performance.now() - started }));
    if (abortAfterMs !== undefined) setTimeout(() => req.destroy(), abortAfterMs);
    req.end("{}");
  });
}

/** One worker, 80 ms a job, no capacity drop within a test. */
const ONE_WORKER = {
  kind: "fifo",
  workers: 1,
  serviceMs: 80,
  fromS: 99,
  toS: 100,
  dropServiceMs: 80,
} as const;

/**
 * Waits (up to a second) until billing has counted `n` attempts. Each attempt is sent once the
 * previous one has arrived, so their order in the queue is sure whatever the machine's load.
 */
async function hasCounted(counter: AttemptCounter, n: number): Promise<void> {
  for (let i = 0; i < 200 && counter.total < n; i++) await new Promise((r) => setTimeout(r, 5));
  expect(counter.total).toBe(n);
}

describe("the FIFO billing over HTTP", () => {
  let billing: RunningUpstream | undefined;
  afterEach(async () => {
    await billing?.close();
  });

  it("queues attempts behind one worker, works for callers that left, counts from the load's start", async () => {
    const counter = new AttemptCounter();
    billing = await startModel(ONE_WORKER, counter, 1);
    const { port } = billing.target;
    // A warm-up's request, before the load starts (upstream-main's POST /start), is not counted.
    expect((await post(port)).status).toBe(200);
    counter.startedAt = performance.now();
    billing.start();
    const arrived = (n: number) => hasCounted(counter, n);
    const firstSent = performance.now();
    const first = post(port);
    await arrived(1);
    const leaver = post(port, 20);
    await arrived(2);
    const thirdSent = performance.now();
    const third = post(port);
    const [a, b, c] = await Promise.all([first, leaver, third]);
    expect(a.status).toBe(200);
    expect(b.status).toBeUndefined();
    // The third waited for the first's work and for the work of the caller that left: it was
    // answered no sooner than three jobs of 80 ms after the first was sent (a few ms of timer slack).
    expect(c.status).toBe(200);
    expect(thirdSent - firstSent + c.at).toBeGreaterThanOrEqual(3 * 80 - 5);
    expect(counter.total).toBe(3);
    expect(billing.extra()).toMatchObject({ done: 3, doneForGone: 1 });
  });

  it("with shedWaitMs (billing-sheds), answers 503 + Retry-After: 1 at once what would wait longer", async () => {
    const counter = new AttemptCounter();
    billing = await startModel({ ...ONE_WORKER, shedWaitMs: 100 }, counter, 1);
    counter.startedAt = performance.now();
    billing.start();
    const { port } = billing.target;
    const arrived = (n: number) => hasCounted(counter, n);
    const served = post(port); // a worker is free: no wait
    await arrived(1);
    const queued = post(port); // one job ahead: 80 ms, under 100
    await arrived(2);
    const shed = await post(port); // two ahead: 160 ms
    expect(shed.status).toBe(503);
    expect(shed.retryAfter).toBe("1");
    expect(shed.at).toBeLessThan(60);
    expect((await served).status).toBe(200);
    expect((await queued).status).toBe(200);
    expect(billing.extra()).toMatchObject({ done: 2, shed: 1 });
  });

  it("queues, not sheds, an attempt whose wait is exactly shedWaitMs", async () => {
    const counter = new AttemptCounter();
    const model = { ...ONE_WORKER, serviceMs: 300, dropServiceMs: 300, shedWaitMs: 300 };
    billing = await startModel(model, counter, 1);
    counter.startedAt = performance.now();
    billing.start();
    const { port } = billing.target;
    const arrived = (n: number) => hasCounted(counter, n);
    const served = post(port);
    await arrived(1);
    const queued = post(port); // one job of 300 ms ahead: a wait of exactly 300
    await arrived(2);
    const shed = await post(port); // 600 ms
    expect(shed.status).toBe(503);
    expect((await served).status).toBe(200);
    expect((await queued).status).toBe(200);
    expect(billing.extra()).toMatchObject({ done: 2, shed: 1 });
  });

  it("takes dropServiceMs a job from fromS to toS of the load, serviceMs before, after and before the start", async () => {
    const counter = new AttemptCounter();
    const model = { kind: "fifo", workers: 1, serviceMs: 1, fromS: 10, toS: 20, dropServiceMs: 600 } as const;
    billing = await startModel(model, counter, 1);
    const { port } = billing.target;
    // Where the load is is what counter.elapsedS() says: put the start that far back.
    const timeAt = async (loadS: number | undefined) => {
      counter.startedAt = loadS === undefined ? undefined : performance.now() - loadS * 1000;
      const reply = await post(port);
      expect(reply.status).toBe(200);
      return reply.at;
    };
    expect(await timeAt(undefined)).toBeLessThan(300); // a warm-up's, before the start
    expect(await timeAt(5)).toBeLessThan(300);
    expect(await timeAt(15)).toBeGreaterThanOrEqual(590);
    expect(await timeAt(25)).toBeLessThan(300);
  });

  it("close cuts the callers, stops the work in progress and stops listening", async () => {
    const counter = new AttemptCounter();
    counter.startedAt = performance.now();
    const started = await startModel({ ...ONE_WORKER, serviceMs: 300, dropServiceMs: 300 }, counter, 1);
    billing = started;
    const { port } = started.target;
    const caller = post(port);
    for (let i = 0; i < 100 && counter.total === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(counter.total).toBe(1);
    await started.close();
    billing = undefined;
    expect((await caller).status).toBeUndefined();
    // Past the job's 300 ms: its work must not be done (nor counted) after the close.
    await new Promise((r) => setTimeout(r, 450));
    expect(started.extra()).toMatchObject({ done: 0, doneForGone: 0 });
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});
