/**
 * Fixed-rate, open-loop load generator (the job wrk2 does; Debian has no wrk2).
 *
 * Request i is due at start + i/rate whether or not earlier ones have returned, so a slow proxy
 * cannot slow the load down (no coordinated omission as long as in-flight stays under the cap, which
 * is reported). Latency is measured from the moment a request is handed to the socket pool to its
 * last response byte. Runs in its own process, bounded in count (rate × seconds) and time.
 *
 * Usage: node open-loop.js '<json options>'  → prints one JSON line.
 */

import type { Dispatcher } from "undici";
import { Pool } from "undici";

interface Options {
  url: string;
  rate: number;
  seconds: number;
  body: string;
  headers?: Record<string, string>;
  /** Sockets to the target; enough that in-flight requests never wait for one. */
  connections?: number;
  /** Requests in flight above which the generator stops sending (and counts the shortfall). */
  maxInFlight?: number;
  /** How long to wait for stragglers after the last send. */
  drainSeconds?: number;
  /** Requests sent at the same rate before the measured ones (JIT, sockets); not in the figures. */
  warmSeconds?: number;
}

const options = JSON.parse(process.argv[2] ?? "{}") as Options;
const target = new URL(options.url);
const warm = Math.round(options.rate * (options.warmSeconds ?? 1));
const total = warm + Math.round(options.rate * options.seconds);
const maxInFlight = options.maxInFlight ?? 512;
const pool = new Pool(target.origin, {
  connections: options.connections ?? 64,
  pipelining: 1,
  keepAliveTimeout: 60_000,
});
const headers = { "content-type": "application/json", ...options.headers };
const body = Buffer.from(options.body);

// Indexed by schedule slot; 0 means "not completed" (or not sent).
const latenciesUs = new Float64Array(total);
const lagUs = new Float64Array(total);
const statuses: Record<string, number> = {};
let completed = 0;
let completedAll = 0;
let errors = 0;
let slot = 0;
let skipped = 0;
let inFlight = 0;
let maxSeenInFlight = 0;

function finish(index: number, startNs: bigint, status: string, failed: boolean): void {
  inFlight--;
  completedAll++;
  if (index < warm) return;
  latenciesUs[index] = Number(process.hrtime.bigint() - startNs) / 1000;
  statuses[status] = (statuses[status] ?? 0) + 1;
  completed++;
  if (failed) errors++;
}

function send(index: number): void {
  const startNs = process.hrtime.bigint();
  let status = 0;
  inFlight++;
  if (inFlight > maxSeenInFlight) maxSeenInFlight = inFlight;
  // undici's callback handler (the controller-style one needs an interceptor chain on a bare Pool).
  const handler: Dispatcher.DispatchHandler = {
    onConnect() {},
    onHeaders(statusCode) {
      status = statusCode;
      return true;
    },
    onData() {
      return true;
    },
    onComplete() {
      finish(index, startNs, String(status), false);
    },
    onError(error) {
      finish(index, startNs, (error as { code?: string }).code ?? "error", true);
    },
  };
  pool.dispatch({ path: target.pathname + target.search, method: "POST", headers, body }, handler);
}

const startMs = performance.now();
const intervalMs = 1000 / options.rate;
let measuredStartMs = startMs;

function tick(): void {
  const now = performance.now();
  while (slot < total) {
    const dueMs = startMs + slot * intervalMs;
    if (dueMs > now) break;
    if (slot === warm) measuredStartMs = now;
    if (inFlight >= maxInFlight) {
      if (slot >= warm) skipped++;
    } else {
      lagUs[slot] = (now - dueMs) * 1000;
      send(slot);
    }
    slot++;
  }
  if (slot < total) setTimeout(tick, Math.max(0, startMs + slot * intervalMs - now));
  else void drain();
}

async function drain(): Promise<void> {
  const sendEndMs = performance.now();
  const deadline = sendEndMs + (options.drainSeconds ?? 10) * 1000;
  while (inFlight > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  report((sendEndMs - measuredStartMs) / 1000, inFlight);
  await pool.destroy();
  process.exit(0);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function report(sendSeconds: number, unfinished: number): void {
  const done = latenciesUs.slice(warm).filter((v) => v > 0);
  done.sort();
  const lag = lagUs.slice(warm).sort();
  const measured = total - warm;
  const out = {
    target: measured,
    sent: measured - skipped,
    skipped,
    completed,
    /** Requests the target served in the whole run, warm-up included (for CPU per request). */
    completedAll,
    unfinished,
    errors,
    statuses,
    achievedRate: (measured - skipped) / sendSeconds,
    maxInFlight: maxSeenInFlight,
    p50Us: percentile(done, 50),
    p90Us: percentile(done, 90),
    p99Us: percentile(done, 99),
    maxUs: done.length ? (done[done.length - 1] ?? 0) : 0,
    lagP99Us: percentile(lag, 99),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

// A hard bound whatever happens: sending time plus drain plus slack.
setTimeout(
  () => {
    report(options.seconds, inFlight);
    process.exit(1);
  },
  ((options.warmSeconds ?? 1) + options.seconds + (options.drainSeconds ?? 10) + 5) * 1000,
).unref();
tick();
