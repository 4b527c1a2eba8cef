import { type App, type AppTarget, createApp } from "./app-client.js";
import { type Door, startDoor } from "./door-haproxy.js";
import {
  goodputPerSecond,
  inTimeShareBySecond,
  offeredPerSecond,
  recoveryTime,
  sentWithin,
  successShare,
  triggerGoodputShare,
} from "./figures.js";
import { runLoad } from "./load.js";
import { APP_ATTEMPTS, doorFor, modelFor, type Scenario, VARIANT_ENV, type Variant } from "./scenarios.js";
import { type SidecarPod, sidecarAttempts, startSidecars, stopSidecars } from "./sidecars.js";
import { StallWatch } from "./stall-watch.js";
import { startUpstreamProcess } from "./upstream-process.js";
import { warmUp } from "./warm-up.js";

// One row of one scenario: a fresh billing process, fresh sidecars (their breakers and budgets
// start empty), the pods' apps, the load, and the figures.

export interface VariantResult {
  scenario: string;
  variant: Variant;
  pods: number;
  seconds: number;
  requests: number;
  success: number;
  attemptsPerRequest: number;
  /**
   * Who counted the attempts: billing (whole run); over the outage window, the apps or the sidecars;
   * the sidecars over the whole run when a door stands in front of billing.
   */
  attemptsCountedBy: "billing" | "apps" | "sidecars";
  billingAttempts: number;
  goodputPerSecond: number[];
  offeredPerSecond: number[];
  billingAttemptsPerSecond: number[];
  recoveryS?: number | null;
  triggerGoodput?: number;
  billing: Record<string, unknown>;
  /** The longest event-loop delay of billing's process and of the apps' (the harness) during the run. */
  loopDelayMaxMs: { billing: number; apps: number };
  /** The seconds of the load in which those loops stalled (StallWatch); absent in older results. */
  stallSeconds?: { billing: number[]; apps: number[] };
}

export interface RunContext {
  buildDir: string;
  sidecarMain: string;
  logDir: string;
  pods: number;
  seed: number;
  /** The headless scenario's DNS server (dnsmasq) and the name it answers with the three instances. */
  dns?: { server: string; name: string };
  /**
   * Awaited once this variant's processes are up, before its load starts: variants that run side
   * by side start their loads together, after the last one is ready (starting processes stalls the
   * harness, which must not happen while another variant's load runs).
   */
  ready?: () => Promise<void>;
}

export async function runVariant(
  scenario: Scenario,
  variant: Variant,
  ctx: RunContext,
): Promise<VariantResult> {
  const upstream = await startUpstreamProcess(ctx.buildDir, modelFor(variant, scenario.model), ctx.seed);
  const headless = upstream.addresses !== undefined;
  if (headless && ctx.dns === undefined) throw new Error(`${scenario.name} needs dnsmasq`);
  let pods: SidecarPod[] = [];
  const apps: App[] = [];
  let door: Door | undefined;
  try {
    const doorOptions = doorFor(variant, scenario.model);
    if (doorOptions) door = await startDoor(ctx.logDir, `${scenario.name}-${variant}`, upstream, doorOptions);
    // The sidecars call billing, or the door in front of it.
    const entry = door ?? upstream;
    const sidecarEnv = VARIANT_ENV[variant];
    if (sidecarEnv !== undefined) {
      const upstreamEnv: Record<string, string> = headless
        ? {
            UPSTREAM_URL: `http://${ctx.dns?.name}:${upstream.port}`,
            UPSTREAM_DNS_SERVERS: ctx.dns?.server ?? "",
          }
        : { UPSTREAM_URL: `http://${entry.host}:${entry.port}` };
      const env = { ...scenario.sidecarEnv, ...sidecarEnv, ...upstreamEnv };
      pods = await startSidecars(ctx.sidecarMain, ctx.pods, env, ctx.logDir, `${scenario.name}-${variant}`);
    }
    const direct: AppTarget = headless
      ? { host: ctx.dns?.name ?? "", port: upstream.port, addresses: upstream.addresses ?? [] }
      : { host: upstream.host, port: upstream.port };
    const appAttempts: number[] = [];
    let t0 = 0;
    for (let pod = 0; pod < ctx.pods; pod++) {
      const sidecar = pods[pod];
      apps.push(
        createApp({
          target: sidecar ? { host: "127.0.0.1", port: sidecar.port } : direct,
          attempts: APP_ATTEMPTS[variant],
          perTryTimeoutMs: scenario.perTryTimeoutMs,
          appTimeoutMs: scenario.appTimeoutMs,
          onAttempt: () => appAttempts.push((performance.now() - t0) / 1000),
        }),
      );
    }
    // The outage refuses connections, so billing cannot count the attempts it misses: over the
    // outage window the apps count theirs, and the sidecars' metrics count the sidecars'.
    const outage = scenario.model.kind === "outage" ? scenario.trigger : undefined;
    const scraped: number[] = [];
    const marks =
      outage && pods.length > 0
        ? [outage.fromS, outage.toS].map((atS) => ({
            atS,
            run: () => void sidecarAttempts(pods).then((n) => scraped.push(n)),
          }))
        : [];
    if (scenario.warmUpPerPod !== undefined) await warmUp(apps, scenario.warmUpPerPod);
    // Behind a door billing sees only what the door lets through: the sidecars count the attempts.
    const sentBefore = door ? await sidecarAttempts(pods) : 0;
    await ctx.ready?.();
    const appsStalls = new StallWatch();
    await upstream.start();
    appsStalls.start();
    t0 = performance.now();
    const records = await runLoad({
      apps,
      ratePerPod: scenario.totalRate / ctx.pods,
      seconds: scenario.seconds,
      seed: ctx.seed,
      appTimeoutMs: scenario.appTimeoutMs,
      t0,
      marks,
    });
    appsStalls.stop();
    const stats = await upstream.stats();
    const { attempts, perSecond, loopDelayMaxMs, stallSeconds, ...billing } = stats;
    let attemptsPerRequest = attempts / records.length;
    let attemptsCountedBy: VariantResult["attemptsCountedBy"] = "billing";
    if (door) {
      attemptsPerRequest = ((await sidecarAttempts(pods)) - sentBefore) / records.length;
      attemptsCountedBy = "sidecars";
    }
    if (outage) {
      const sent = sentWithin(records, outage.fromS, outage.toS);
      const inWindow =
        pods.length > 0
          ? (scraped[1] ?? Number.NaN) - (scraped[0] ?? Number.NaN)
          : appAttempts.filter((s) => s >= outage.fromS && s < outage.toS).length;
      attemptsPerRequest = inWindow / sent;
      attemptsCountedBy = pods.length > 0 ? "sidecars" : "apps";
    }
    const result: VariantResult = {
      scenario: scenario.name,
      variant,
      pods: ctx.pods,
      seconds: scenario.seconds,
      requests: records.length,
      success: successShare(records),
      attemptsPerRequest,
      attemptsCountedBy,
      billingAttempts: attempts,
      goodputPerSecond: goodputPerSecond(records, scenario.seconds),
      offeredPerSecond: offeredPerSecond(records, scenario.seconds),
      billingAttemptsPerSecond: perSecond.slice(0, Math.ceil(scenario.seconds)),
      billing,
      loopDelayMaxMs: { billing: Number(loopDelayMaxMs), apps: appsStalls.maxMs() },
      stallSeconds: { billing: stallSeconds, apps: appsStalls.secondsOver() },
    };
    if (scenario.trigger) {
      result.recoveryS = recoveryTime(inTimeShareBySecond(records, scenario.seconds), scenario.trigger.toS);
      result.triggerGoodput = triggerGoodputShare(records, scenario.trigger.fromS, scenario.trigger.toS);
    }
    return result;
  } finally {
    for (const app of apps) app.close();
    await stopSidecars(pods);
    await door?.stop();
    await upstream.stop();
  }
}
