// The fleet scenarios, with the names and parameters the fleet simulator uses too, so that the
// simulator's figures can be checked against real processes. Times are seconds from the start of
// the load; a scenario with a trigger (an outage, a capacity drop) has its timeline here.

import type { DoorOptions } from "./door-haproxy.js";

export type UpstreamModel =
  /** 503 with probability `failure` per attempt, else 200; 10 ms each, no queueing. */
  | { kind: "random"; failure: number }
  /** Healthy, then nothing listens (connection refused) from `fromS` to `toS`, then healthy again. */
  | { kind: "outage"; fromS: number; toS: number }
  /**
   * Three instances on 127.0.0.2-4, one always 503 (`hung`: one that never answers at all), behind
   * one balancer address or three DNS addresses.
   */
  | { kind: "sick"; service: "clusterip" | "headless"; hung?: boolean }
  /**
   * `workers` workers behind one FIFO queue; from `fromS` to `toS` each job takes `dropServiceMs`.
   * `shedWaitMs`: billing protects itself, answering 503 + `Retry-After: 1` at once instead of
   * queueing an attempt that would wait longer than this (the `billing-sheds` row).
   */
  | {
      kind: "fifo";
      workers: number;
      serviceMs: number;
      fromS: number;
      toS: number;
      dropServiceMs: number;
      shedWaitMs?: number;
    };

export interface Scenario {
  name: string;
  model: UpstreamModel;
  /** Requests per second over the whole fleet (each pod sends total / pods). */
  totalRate: number;
  seconds: number;
  /** The app's own timeout: a 2xx later than this is not "answered in time". */
  appTimeoutMs: number;
  /** The sidecar's settings for this scenario (on top of its defaults). */
  sidecarEnv: Record<string, string>;
  /** The sidecar's per-try timeout in this scenario: the naive loop uses it too. */
  perTryTimeoutMs: number;
  /** The trigger window (outage, capacity drop): recovery is measured from its end. */
  trigger?: { fromS: number; toS: number };
  /** Requests each pod's app sends before the load, not measured (warm-up.ts); none if absent. */
  warmUpPerPod?: number;
}

export const RANDOM_RATES = [5, 30, 50, 80, 100] as const;

function random(percent: number, seconds: number): Scenario {
  return {
    name: `random-${percent}`,
    model: { kind: "random", failure: percent / 100 },
    totalRate: 20,
    seconds,
    appTimeoutMs: 30_000,
    sidecarEnv: {},
    perTryTimeoutMs: 5000,
  };
}

function sick(service: "clusterip" | "headless", seconds: number): Scenario {
  return {
    name: `sick-${service}`,
    model: { kind: "sick", service },
    totalRate: 20,
    seconds,
    appTimeoutMs: 30_000,
    sidecarEnv: {},
    perTryTimeoutMs: 5000,
  };
}

/**
 * The sick instance hung instead (no answer at all), with overload-drop's per-try timeout and
 * deadline: the timeouts a retry elsewhere cures, which overload protection must not take for a
 * queue.
 */
function hung(service: "clusterip" | "headless", seconds: number): Scenario {
  return {
    name: `hung-${service}`,
    model: { kind: "sick", service, hung: true },
    totalRate: 20,
    seconds,
    appTimeoutMs: 5000,
    sidecarEnv: { PER_TRY_TIMEOUT_MS: "1000", REQUEST_TIMEOUT_MS: "4500" },
    perTryTimeoutMs: 1000,
  };
}

/** 10 s healthy, 60 s outage, 20 s healthy; `scale` shrinks the timeline (quick runs). */
function outage(scale: number): Scenario {
  const fromS = 10 * scale;
  const toS = 70 * scale;
  return {
    name: "outage-60",
    model: { kind: "outage", fromS, toS },
    totalRate: 20,
    seconds: 90 * scale,
    appTimeoutMs: 30_000,
    sidecarEnv: {},
    perTryTimeoutMs: 5000,
    trigger: { fromS, toS },
  };
}

/** Base load 70% of capacity (56 of 80 req/s); capacity to a fifth from 20 s to 30 s; 70 s in all. */
function overload(scale: number): Scenario {
  const fromS = 20 * scale;
  const toS = 30 * scale;
  return {
    name: "overload-drop",
    model: { kind: "fifo", workers: 8, serviceMs: 100, fromS, toS, dropServiceMs: 500 },
    totalRate: 56,
    seconds: 70 * scale,
    appTimeoutMs: 5000,
    sidecarEnv: { PER_TRY_TIMEOUT_MS: "1000", REQUEST_TIMEOUT_MS: "4500" },
    perTryTimeoutMs: 1000,
    trigger: { fromS, toS },
    // Its 100-ms service times are the most sensitive to stalls, and it is the scenario run at
    // 30 and 100 pods, where cold sidecars stall the machine; the others run cold at 10 pods.
    warmUpPerPod: 3,
  };
}

/**
 * Every scenario, in report order. `seconds` is the run of the load-independent ones (random, sick:
 * 60 s in the shared definition, 30 s by default here); `triggerScale` shrinks the outage and overload
 * timelines (1 = as defined).
 */
export function allScenarios(seconds: number, triggerScale: number): Scenario[] {
  return [
    ...RANDOM_RATES.map((p) => random(p, seconds)),
    outage(triggerScale),
    sick("clusterip", seconds),
    sick("headless", seconds),
    hung("clusterip", seconds),
    hung("headless", seconds),
    overload(triggerScale),
  ];
}

export const SCENARIO_NAMES = allScenarios(1, 1).map((s) => s.name);

/** The rows of a run by default (and of its charts). */
export const VARIANTS = ["no-retries", "naive-3x", "sidecar-before", "sidecar"] as const;
/** Rows run only when named with --variants: a setting's other choice, beside the default. */
export const EXTRA_VARIANTS = [
  "sidecar-no-blind-retries",
  "billing-sheds",
  "billing-sheds-breaker-30",
  "haproxy-sheds-breaker-30",
] as const;
export const ALL_VARIANTS = [...VARIANTS, ...EXTRA_VARIANTS] as const;
export type Variant = (typeof ALL_VARIANTS)[number];

/** What each row sets on the sidecar; the app-only rows have no sidecar. */
export const VARIANT_ENV: Record<Variant, Record<string, string> | undefined> = {
  "no-retries": undefined,
  "naive-3x": undefined,
  "sidecar-before": { RETRY_THROTTLE: "off", OVERLOAD_PROTECTION: "off" },
  sidecar: {},
  "sidecar-no-blind-retries": { OVERLOAD_BLIND_RETRIES: "off" },
  "billing-sheds": {},
  "billing-sheds-breaker-30": { CIRCUIT_FAILURE_THRESHOLD: "30" },
  "haproxy-sheds-breaker-30": { CIRCUIT_FAILURE_THRESHOLD: "30" },
};

// The simulator's `billing-sheds`: the sidecar's defaults, and a billing that sheds what would wait
// over 500 ms in its queue (overload-drop's billing only; the other models stay as they are).
const SHED_WAIT_MS = 500;

/** The billing a row runs against: the scenario's, or (billing-sheds rows) its shedding FIFO. */
export function modelFor(variant: Variant, model: UpstreamModel): UpstreamModel {
  if (!variant.startsWith("billing-sheds") || model.kind !== "fifo") return model;
  return { ...model, shedWaitMs: SHED_WAIT_MS };
}

/** Attempts the app itself makes per request (the sidecar rows: one, the sidecar retries). */
export const APP_ATTEMPTS: Record<Variant, number> = {
  "no-retries": 1,
  "naive-3x": 4,
  "sidecar-before": 1,
  sidecar: 1,
  "sidecar-no-blind-retries": 1,
  "billing-sheds": 1,
  "billing-sheds-breaker-30": 1,
  "haproxy-sheds-breaker-30": 1,
};

/** The row that puts HAProxy at billing's door; it needs HAProxy installed. */
export const DOOR_VARIANT = "haproxy-sheds-breaker-30" satisfies Variant;

/**
 * HAProxy at billing's door (bench/fleet/door-haproxy.ts) for the row that has one: as many
 * attempts at billing at once as it has workers, 500 ms to wait for a turn, then 503 +
 * `Retry-After: 1`. Only a queueing billing gets a door; the other scenarios run as they are.
 */
export function doorFor(variant: Variant, model: UpstreamModel): DoorOptions | undefined {
  if (variant !== DOOR_VARIANT || model.kind !== "fifo") return undefined;
  return { maxConn: model.workers, queueTimeoutMs: SHED_WAIT_MS, retryAfterS: 1 };
}
