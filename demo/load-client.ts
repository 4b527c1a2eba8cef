import { performance } from "node:perf_hooks";
import { Client, type Dispatcher, Pool } from "undici";

// The application: it creates providers with POST /provider, a bounded number at a time, and
// gives up on one call after `timeoutMs` like any real client. It sends no Idempotency-Key:
// through the sidecar it needs none (the sidecar adds one), which is the point of the demo.

export interface LoadOptions {
  /** Billing origin the app calls: the service itself, or the sidecar in front of it. */
  readonly url: string;
  readonly requests: number;
  readonly concurrency: number;
  /** The app's own patience for one call. */
  readonly timeoutMs: number;
  /**
   * Extra tries the app makes itself after a failure, at once and without an idempotency key:
   * the naive retry loop many apps have. 0 = none (the plain "no sidecar" run).
   */
  readonly appRetries?: number;
  /**
   * When set, each worker has its own kept-alive connection (an undici Client) to the origin this
   * returns for it, and makes its retries on that connection too, as an app with one persistent
   * connection per thread does. Otherwise all workers share one Pool to `url`.
   */
  readonly workerOrigin?: (worker: number) => string;
  readonly now?: () => number;
}

export interface RequestResult {
  readonly ok: boolean;
  /** Final HTTP status, or undefined when the app got no answer at all (reset, timeout). */
  readonly status: number | undefined;
  /** Upstream attempts behind this request: the sidecar's x-attempt-count, summed over app tries. */
  readonly attempts: number;
  readonly latencyMs: number;
}

export async function runLoad(options: LoadOptions): Promise<RequestResult[]> {
  const now = options.now ?? (() => performance.now());
  const workers = Math.min(options.concurrency, options.requests);
  const shared =
    options.workerOrigin === undefined ? new Pool(options.url, { connections: workers }) : undefined;
  const connections: Dispatcher[] = Array.from(
    { length: workers },
    (_, w) => shared ?? new Client(options.workerOrigin?.(w) ?? options.url),
  );
  const results: RequestResult[] = new Array(options.requests);
  let next = 0;

  // `concurrency` workers pull the next request number until all are sent: bounded in count.
  const worker = async (connection: Dispatcher) => {
    while (next < options.requests) {
      const index = next++;
      const started = now();
      const outcome = await callWithAppRetries(connection, providerName(index), options);
      results[index] = { ...outcome, latencyMs: now() - started };
    }
  };
  try {
    await Promise.all(connections.map(worker));
  } finally {
    await Promise.all([...new Set(connections)].map((c) => c.destroy()));
  }
  return results;
}

/** The same names in every run, so the billing service meets the same faults for each. */
export function providerName(index: number): string {
  return `provider-${String(index).padStart(4, "0")}`;
}

async function callWithAppRetries(
  pool: Dispatcher,
  name: string,
  options: LoadOptions,
): Promise<Omit<RequestResult, "latencyMs">> {
  let attempts = 0;
  let status: number | undefined;
  for (let tryNo = 0; tryNo <= (options.appRetries ?? 0); tryNo++) {
    const answer = await callOnce(pool, name, options.timeoutMs);
    attempts += answer.attempts;
    status = answer.status;
    if (status !== undefined && status >= 200 && status < 300) return { ok: true, status, attempts };
  }
  return { ok: false, status, attempts };
}

async function callOnce(
  pool: Dispatcher,
  name: string,
  timeoutMs: number,
): Promise<{ status: number | undefined; attempts: number }> {
  try {
    const response = await pool.request({
      path: "/provider",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body.text();
    const header = response.headers["x-attempt-count"];
    const attempts = typeof header === "string" && /^\d+$/.test(header) ? Number(header) : 1;
    return { status: response.statusCode, attempts: Math.max(attempts, 1) };
  } catch {
    return { status: undefined, attempts: 1 }; // reset or timed out: the app cannot tell if it worked
  }
}
