import { FifoWorkers } from "./fifo-workers.js";
import type { UpstreamModel } from "./scenarios.js";
import {
  type AttemptCounter,
  answer,
  attemptsOnly,
  listen,
  type RunningUpstream,
} from "./upstream-servers.js";

/**
 * The overload scenario's billing over HTTP: every attempt joins the FIFO queue; a caller that
 * left still gets its work done (counted as doneForGone), it just never sees the answer. With
 * `shedWaitMs` an attempt that would wait longer than that gets 503 + `Retry-After: 1` at once.
 */
export async function fifoModel(
  counter: AttemptCounter,
  model: Extract<UpstreamModel, { kind: "fifo" }>,
): Promise<RunningUpstream> {
  const timers = new Set<NodeJS.Timeout>();
  let shed = 0;
  const workers = new FifoWorkers({
    workers: model.workers,
    serviceMs: () => {
      const at = counter.elapsedS();
      return at !== undefined && at >= model.fromS && at < model.toS ? model.dropServiceMs : model.serviceMs;
    },
    schedule: (ms, run) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        run();
      }, ms);
      timers.add(timer);
    },
  });
  const billing = await listen(
    attemptsOnly(counter, "127.0.0.1", (_req, res) => {
      if (model.shedWaitMs !== undefined && workers.queueWaitMs() > model.shedWaitMs) {
        shed += 1;
        return answer(res, 503, { "retry-after": "1" });
      }
      let left = false;
      res.once("close", () => {
        left = !res.writableEnded;
      });
      workers.submit({ answer: () => answer(res, 200), gone: () => left || res.destroyed });
    }),
    "127.0.0.1",
    0,
  );
  // The work done before the load started (a warm-up's) is not the run's.
  let before = { done: 0, doneForGone: 0, shed: 0 };
  return {
    target: { host: "127.0.0.1", port: billing.port },
    start: () => {
      before = { done: workers.counts.done, doneForGone: workers.counts.doneForGone, shed };
    },
    extra: () => ({
      ...workers.counts,
      done: workers.counts.done - before.done,
      doneForGone: workers.counts.doneForGone - before.doneForGone,
      ...(model.shedWaitMs === undefined ? {} : { shed: shed - before.shed }),
    }),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      await billing.stop();
    },
  };
}
