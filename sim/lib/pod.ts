import { EndpointSet } from "../../src/endpoints/endpoint-set.js";
import { admitRequest } from "../../src/retry/admit-request.js";
import { isRetryable } from "../../src/retry/classify.js";
import type { AttemptOutcome, SkipReason } from "../../src/retry/outcome.js";
import type { OverloadGate } from "../../src/retry/overload-gate.js";
import {
  type Attempt,
  type RetryPolicy,
  runWithRetries,
  type SendAttempt,
  type TimedOut,
} from "../../src/retry/retry-loop.js";
import type { RetryThrottle } from "../../src/retry/retry-throttle.js";
import { createRouteGuards, type RouteGuards } from "../../src/retry/route-guards.js";
import type { AttemptTarget, Upstream } from "./upstreams.js";
import type { VirtualTime } from "./virtual-time.js";

/** The sidecar settings a scenario runs with (the defaults of docs/contract.md unless it says). */
export interface SidecarSettings {
  readonly maxRetries: number;
  readonly perTryTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly backoffJitter: number | "full";
  readonly retryBudgetRatio: number;
  readonly retryBudgetMinPerSec: number;
  readonly circuitFailureThreshold: number;
  readonly circuitOpenMs: number;
  readonly endpointEjectAfter: number;
  readonly endpointEjectMs: number;
  readonly retryThrottleTokens: number;
  readonly retryThrottleRatio: number;
  readonly retryThrottleProbeRatio: number;
  readonly overloadLateRatio: number;
  readonly overloadDecrease: number;
  readonly overloadRecoveryMs: number;
  readonly overloadMinLimit: number;
  readonly overloadRetryShare: number;
}

/** What every pod of a run shares: the time, the upstream, the counters. */
export interface PodEnv {
  readonly pod: number;
  readonly time: VirtualTime;
  /** The pod's own random stream (backoff jitter, balancer choices). */
  readonly random: () => number;
  readonly upstream: Upstream;
  readonly settings: SidecarSettings;
  /** The app's own timeout: after it the app gives up (and the sidecar sees its client leave). */
  readonly appTimeoutMs: number;
  /** Counts each attempt sent to the upstream, at the virtual time it is sent. */
  readonly attemptSent: () => void;
  /** Counts a retry the sidecar did not make, by reason. */
  readonly skipped: (reason: SkipReason) => void;
}

/** One client request's end as the app sees it. */
export interface CallResult {
  readonly status: number;
}

/** How one pod's app reaches the upstream: directly, or through its sidecar. */
export interface PodCaller {
  call(signal: AbortSignal): Promise<CallResult>;
}

/**
 * Optional hook in front of every attempt a sidecar pod sends (first or retry), for policies that
 * shed load (overload protection, the SRE adaptive throttle). `admit` false: the attempt is not
 * sent and the request ends at once with a local 503 (not retried, attempts not counted).
 * `done` is told every sent attempt's outcome and latency.
 */
export interface AttemptGate {
  admit(first: boolean): boolean;
  done(outcome: AttemptOutcome, latencyMs: number): void;
}

/** What a sidecar pod is built from; every part but the throttle and the gate is the sidecar's own. */
export interface SidecarParts {
  /** The retry throttle; undefined is RETRY_THROTTLE=off. */
  readonly throttle?: RetryThrottle | undefined;
  /** Overload protection (src/overload/); undefined is OVERLOAD_PROTECTION=off. */
  readonly overload?: OverloadGate | undefined;
  readonly gate?: AttemptGate | undefined;
}

const RETRY_ON_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);
const TIMEOUT: AttemptOutcome = { kind: "failure", failure: "timeout", retryable: true };
const SHED: AttemptOutcome = { kind: "failure", failure: "connect_error", retryable: false };
const noop = (): void => {};

/**
 * One attempt: sent to the upstream, raced by the per-try timeout (or the client leaving); a late
 * answer is dropped, as undici drops the response of an aborted request. At the timeout the
 * sidecar's retry loop (`timedOut`) may ask to wait longer, as the real attempt's timer does.
 */
export function sendAttempt(
  env: PodEnv,
  target: AttemptTarget,
  timeoutMs: number,
  signal: AbortSignal,
  timedOut?: TimedOut,
): Promise<AttemptOutcome> {
  env.attemptSent();
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      cancelTimer();
      signal.removeEventListener("abort", onAbort);
      resolve(outcome);
    };
    const onAbort = () => settle(TIMEOUT);
    const onTimeout = (): void => {
      const more = timedOut?.waitLonger() ?? 0;
      if (more >= 1) cancelTimer = env.time.after(more, onTimeout);
      else settle(TIMEOUT);
    };
    let cancelTimer = env.time.after(timeoutMs, onTimeout);
    signal.addEventListener("abort", onAbort, { once: true });
    env.upstream.send(target, settle);
  });
}

const ROUTE = "/provider";

/**
 * A pod with the sidecar in front of its app: the route's breaker, the retry budget, the throttle
 * and the endpoint registry are the real ones of src/, one set per pod exactly as one sidecar
 * process has; the request runs through the real admission and the real retry loop.
 */
export function sidecarPod(env: PodEnv, parts: SidecarParts = {}): PodCaller {
  const s = env.settings;
  const clock = env.time.clock;
  // The app's one route, with its guards built as the sidecar builds them (src/sidecar.ts).
  const { breaker, budget } = createRouteGuards(
    [ROUTE],
    {
      failureThreshold: s.circuitFailureThreshold,
      openMs: s.circuitOpenMs,
      budgetRatio: s.retryBudgetRatio,
      budgetMinPerSec: s.retryBudgetMinPerSec,
    },
    clock,
    noop,
  ).get(ROUTE) as RouteGuards;
  const endpoints = new EndpointSet(
    { host: "billing", port: 80, ejectAfter: s.endpointEjectAfter, ejectMs: s.endpointEjectMs },
    clock,
    env.random,
    {
      changed: noop,
      ejected: noop,
      restored: noop,
      stuck: (endpoint) => env.upstream.renew?.(env.pod, endpoint.address),
    },
  );
  endpoints.update(env.upstream.addresses);
  const policy: RetryPolicy = {
    retryOnStatus: RETRY_ON_STATUS,
    backoff: { baseMs: s.backoffBaseMs, maxMs: s.backoffMaxMs, jitter: s.backoffJitter },
    retryAfterMaxMs: 30_000,
    perTryTimeoutMs: s.perTryTimeoutMs,
  };
  const deps = {
    clock,
    sleep: env.time.sleep,
    random: env.random,
    throttle: parts.throttle,
    overload: parts.overload,
    events: {
      attempt: noop,
      retry: noop,
      skipped: (_route: string, reason: SkipReason) => env.skipped(reason),
    },
  };
  const gate = parts.gate;

  return {
    async call(signal) {
      const admission = admitRequest(breaker, budget, parts.throttle, parts.overload);
      if (!admission.admitted) return { status: 503 };
      if (gate !== undefined && !gate.admit(true)) return { status: 503 };
      // As src/proxy/attempt-sender.ts: a retry prefers an endpoint this request has not tried,
      // and one it has tried gets a newly opened connection.
      let tried: Set<string> | undefined;
      let firstTried: string | undefined;
      const send: SendAttempt<AttemptOutcome> = async (attempt, timeoutMs, timedOut) => {
        if (attempt > 1) {
          tried ??= new Set(firstTried === undefined ? [] : [firstTried]);
          if (gate !== undefined && !gate.admit(false)) return attemptOf(SHED);
        }
        const endpoint = endpoints.choose(tried);
        if (endpoint === undefined) return attemptOf(SHED);
        const fresh = tried?.has(endpoint.key) === true;
        if (tried === undefined) firstTried = endpoint.key;
        else tried.add(endpoint.key);
        endpoints.begin(endpoint);
        const started = clock();
        const outcome = await sendAttempt(
          env,
          { pod: env.pod, address: endpoint.address, fresh },
          timeoutMs,
          signal,
          timedOut,
        );
        endpoints.report(endpoint, isRetryable(outcome, RETRY_ON_STATUS) ? "retryable" : "not_retryable");
        endpoints.end(endpoint);
        gate?.done(outcome, clock() - started);
        return attemptOf(outcome);
      };
      const result = await runWithRetries(
        {
          route: ROUTE,
          requestId: "",
          maxRetries: s.maxRetries,
          replayable: true,
          deadlineAt: clock() + s.requestTimeoutMs,
          idempotent: true,
          signal,
          breaker,
          budget,
          isProbe: admission.probe,
        },
        send,
        policy,
        deps,
      );
      return { status: statusOf(result.last?.outcome) };
    },
  };
}

/**
 * A pod whose app calls the upstream itself on its kept-alive connection: `retries` immediate
 * retries (0 = one attempt) on a 5xx, a timeout or a connection error, each attempt limited to
 * `perTryTimeoutMs`.
 */
export function directPod(env: PodEnv, retries: number, perTryTimeoutMs: number): PodCaller {
  // Several addresses (a headless Service): each attempt to the next, as the fleet check's app
  // opens each new connection to the next address (DNS round-robin). Always the first, it never
  // met the sick instance, and its rows showed 100% where the real app got 46%.
  const addresses = env.upstream.addresses;
  let next = env.pod;
  return {
    async call(signal) {
      let outcome: AttemptOutcome = TIMEOUT;
      for (let attempt = 0; attempt <= retries && !signal.aborted; attempt++) {
        const address = addresses[next++ % addresses.length] as string;
        outcome = await sendAttempt(env, { pod: env.pod, address, fresh: false }, perTryTimeoutMs, signal);
        const status = statusOf(outcome);
        if (status < 500) break;
      }
      return { status: statusOf(outcome) };
    },
  };
}

function attemptOf(outcome: AttemptOutcome): Attempt<AttemptOutcome> {
  return { outcome, response: outcome, discard: noop };
}

/** The status the app gets for a final outcome (the sidecar's 502/504/503 for local answers). */
function statusOf(outcome: AttemptOutcome | undefined): number {
  if (outcome === undefined) return 503;
  if (outcome.kind === "response") return outcome.status;
  return outcome.failure === "timeout" ? 504 : 502;
}
