// What one "request completed" line costs, in µs of CPU per line, the way the sidecar writes it
// with LOG_REQUESTS=all: pino's asynchronous destination (sonic-boom) into /dev/null.
//
//   npm run build && node bench/tools/log-line-cost.mjs
//   npm run build && "$(bash .ci/node24.sh)" bench/tools/log-line-cost.mjs
//
// Rows, run interleaved, each the best (least CPU) of ROUNDS rounds of LINES lines, median beside:
//   pino, level numbers, epoch time    the line as it was written before (and its destination:
//                                      sonic-boom's default 16 KiB maxWrite)
//   pino, level names, ISO time        pino's formatters.level + stdTimeFunctions.isoTime
//   fixed-shape writer, 16 KiB chunks  the shipped serializer on the old destination
//   fixed-shape writer (shipped)       src/observability/completed-line.ts on createLogger's own
//                                      destination (4 KiB chunks): what the sidecar runs
//   observer.completed, all - none     the shipped observer with LOG_REQUESTS=all minus =none:
//                                      the line as a request pays for it (fields object included)
// CPU is the process's (user + system: the write threads included), divided by the line count.
// The event loop is let run every 1,024 lines, so the asynchronous writes complete as they would.
import { openSync } from "node:fs";
import pino from "pino";
import { createCompletedLineWriter } from "../../dist/observability/completed-line.js";
import { createLogger, logDestination } from "../../dist/observability/logger.js";
import { createMetrics } from "../../dist/observability/metrics.js";
import { createObserver } from "../../dist/observability/observer.js";

const LINES = Number(process.env.LINES ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);

// The destination createLogger made before (4 KiB minimum, sonic-boom's default 16 KiB maximum).
const oldDestination = () =>
  pino.destination({ dest: "/dev/null", sync: false, minLength: 4096, periodicFlush: 250 });
// createLogger's own destination, on /dev/null instead of stdout.
const devNull = openSync("/dev/null", "w");
const shippedLogger = () => createLogger("info", logDestination(devNull));
const ids = Array.from(
  { length: 1024 },
  (_, i) => `0f3c${String(i).padStart(4, "0")}-9a1b-4c2d-8e7f-1234567890ab`,
);
const fieldsOf = (i) => ({
  reqId: ids[i & 1023],
  route: "/provider",
  method: "POST",
  path: "/provider/42",
  status: 201,
  attempts: 1,
  durationMs: i & 15,
  endpoint: "127.0.0.1:5002",
});
const eventOf = (i) => ({
  requestId: ids[i & 1023],
  route: "/provider",
  method: "POST",
  path: "/provider/42",
  status: 201,
  attempts: 1,
  retries: 0,
  durationMs: 2.4 + (i & 15),
  stop: "not_retryable",
  retryable: false,
  endpoint: "127.0.0.1:5002",
});

const before = pino({ level: "info", name: "retry-sidecar" }, oldDestination());
const named = pino(
  {
    level: "info",
    name: "retry-sidecar",
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
  },
  oldDestination(),
);
const fixedOld = createCompletedLineWriter(createLogger("info", oldDestination()));
const shipped = createCompletedLineWriter(shippedLogger());
const observerAll = createObserver(createMetrics(["/provider"]), shippedLogger(), "all");
const observerNone = createObserver(createMetrics(["/provider"]), shippedLogger(), "none");

const rows = {
  "pino, level numbers, epoch time": (i) => before.info(fieldsOf(i), "request completed"),
  "pino, level names, ISO time": (i) => named.info(fieldsOf(i), "request completed"),
  "fixed-shape writer, 16 KiB chunks": (i) => fixedOld(fieldsOf(i)),
  "fixed-shape writer (shipped)": (i) => shipped(fieldsOf(i)),
  "observer.completed, LOG_REQUESTS=all": (i) => observerAll.completed(eventOf(i)),
  "observer.completed, LOG_REQUESTS=none": (i) => observerNone.completed(eventOf(i)),
};

async function round(write) {
  const cpu = process.cpuUsage();
  for (let i = 0; i < LINES; i++) {
    write(i);
    if ((i & 1023) === 1023) await new Promise(setImmediate);
  }
  await new Promise((resolve) => setTimeout(resolve, 5)); // the last writes land
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / LINES;
}

const results = Object.fromEntries(Object.keys(rows).map((name) => [name, []]));
for (const write of Object.values(rows)) await round(write); // warm-up: JIT, buffers
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, write] of Object.entries(rows)) results[name].push(await round(write));
}
const best = (xs) => Math.min(...xs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`Node ${process.versions.node}, ${LINES} lines × ${ROUNDS} rounds, µs of CPU per line`);
for (const [name, xs] of Object.entries(results)) {
  console.log(`${name.padEnd(40)} best ${best(xs).toFixed(2)}  median ${median(xs).toFixed(2)}`);
}
const all = results["observer.completed, LOG_REQUESTS=all"];
const none = results["observer.completed, LOG_REQUESTS=none"];
console.log(
  `${"the line in the observer (all - none)".padEnd(40)} best ${(best(all) - best(none)).toFixed(2)}  median ${(median(all) - median(none)).toFixed(2)}`,
);
process.exit(0);
