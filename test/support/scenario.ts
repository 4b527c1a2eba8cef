import { afterEach, beforeEach } from "vitest";
import type { SidecarOverrides } from "../../src/sidecar.js";
import { type Behaviour, type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { type Harness, type LogLine, startHarness } from "./sidecar-harness.js";

// Shared set-up of the integration suites: a fake upstream and a sidecar per test (short
// backoffs without jitter unless a suite names other defaults), everything stopped after.

/** Backoff 10, 20, 40 ms without jitter: fast and exact. Tests override what they exercise. */
export const FAST_ENV: Readonly<Record<string, string>> = {
  BACKOFF_BASE_MS: "10",
  BACKOFF_JITTER: "0",
};

export interface Scenario {
  /** The fake upstream of the running test (new for each test). */
  readonly upstream: FakeUpstream;
  /** Starts the sidecar in front of the upstream; `env` overrides the defaults. Stopped after the test. */
  start(env?: Record<string, string>, overrides?: SidecarOverrides): Promise<Harness>;
}

/**
 * Registers beforeEach/afterEach hooks; call once at the top of a test file. `defaults` is the
 * env every start() begins with (after UPSTREAM_URL, before its own `env`): FAST_ENV unless given.
 */
export function useScenario(
  fallback: Behaviour = { status: 200, body: "ok" },
  defaults: Readonly<Record<string, string>> = FAST_ENV,
): Scenario {
  let upstream: FakeUpstream | undefined;
  let harness: Harness | undefined;
  beforeEach(async () => {
    upstream = await startFakeUpstream(fallback);
  });
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await upstream?.close();
    upstream = undefined;
  });
  return {
    get upstream() {
      if (upstream === undefined) throw new Error("no upstream outside a test");
      return upstream;
    },
    async start(env = {}, overrides = {}) {
      if (upstream === undefined) throw new Error("no upstream outside a test");
      if (harness !== undefined) throw new Error("one sidecar per test");
      harness = await startHarness({ UPSTREAM_URL: upstream.url, ...defaults, ...env }, overrides);
      return harness;
    },
  };
}

/**
 * A port of 127.0.0.1 on which nothing listens, so connections are refused: port 1 (tcpmux),
 * privileged, and never listened on by a test (see `quietPort` for one a test listens on later).
 * A port bound and then closed can be taken by another test's server, running in parallel, before
 * the sidecar connects to it.
 */
export async function closedPort(): Promise<number> {
  return 1;
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly text: string;
  /** x-attempt-count as a number (NaN when absent). */
  readonly attempts: number;
  /** Milliseconds from sending the request to the end of the answer. */
  readonly elapsedMs: number;
}

/** Sends one request to the sidecar (redirects not followed) and reads the whole answer. */
export async function send(h: Harness, path = "/provider", init: RequestInit = {}): Promise<Reply> {
  const started = performance.now();
  const res = await fetch(`${h.url}${path}`, { method: "POST", body: "{}", redirect: "manual", ...init });
  const body = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    headers: res.headers,
    body,
    text: body.toString("utf8"),
    attempts: Number(res.headers.get("x-attempt-count")),
    elapsedMs: performance.now() - started,
  };
}

/** The "upstream retry" log lines, in order, with the fields the spec names. */
export function retryLogs(h: Harness): LogLine[] {
  return h.logs.filter((line) => line.msg === "upstream retry");
}

/** The sidecar's own JSON error body (502/504/503 circuit open). */
export function json(reply: Reply): Record<string, unknown> {
  return JSON.parse(reply.text) as Record<string, unknown>;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Resolves once `check` holds, polling every 5 ms; rejects after `timeoutMs`. Only for states
 * that announce themselves by no event (a metric moving); prefer waitForRequests / waitForLog.
 */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A wall clock that a test can move forward (the sidecar's clock override): windows and open
 * periods of many seconds pass at once. Move it only between requests (deadlines use it too).
 */
export function steppingClock() {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    advance(ms: number) {
      offsetMs += ms;
    },
  };
}
