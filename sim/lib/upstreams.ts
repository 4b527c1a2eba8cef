import type { AttemptOutcome } from "../../src/retry/outcome.js";
import type { VirtualTime } from "./virtual-time.js";

/** Where one attempt goes: from which pod, to which address, on a newly opened connection or not. */
export interface AttemptTarget {
  readonly pod: number;
  readonly address: string;
  readonly fresh: boolean;
}

/**
 * A model of the upstream. `send` takes one attempt and calls `answer` once, when the upstream
 * (or the network, for a refused connection) answers; it never cancels work, so an answer may
 * come after the caller gave up (the caller's per-try timeout races it).
 */
export interface Upstream {
  /** The addresses the upstream's host name resolves to (a headless Service has several). */
  readonly addresses: readonly string[];
  send(target: AttemptTarget, answer: (outcome: AttemptOutcome) => void): void;
  /** The sidecar of `pod` renews its connections to `address` (its kept-alive ones are closed). */
  renew?(pod: number, address: string): void;
  /** How long an attempt sent now would wait in the upstream's queue (upstreams with one), ms. */
  queueWaitMs?(): number;
  /** How many attempts it works on at once (upstreams with a queue). */
  readonly workers?: number;
}

const OK: AttemptOutcome = { kind: "response", status: 200, retryAfter: undefined };
const UNAVAILABLE: AttemptOutcome = { kind: "response", status: 503, retryAfter: undefined };
const REFUSED: AttemptOutcome = { kind: "failure", failure: "connect_error", retryable: true };
const CONNECT_MS = 1; // a refused connection on a LAN fails in well under a millisecond
const SERVICE_MS = 10;

/**
 * Random failures independent of load: each attempt answers 503 with probability `failure(t)`,
 * else 200, after 10 ms; while `down(t)`, nothing listens (connection refused). `t` is scenario ms.
 */
export function flakyUpstream(
  time: VirtualTime,
  now: () => number,
  random: () => number,
  failure: (t: number) => number,
  down: (t: number) => boolean = () => false,
): Upstream {
  return {
    addresses: ["10.0.0.1"],
    send(_target, answer) {
      const t = now();
      if (down(t)) {
        time.after(CONNECT_MS, () => answer(REFUSED));
        return;
      }
      const outcome = random() < failure(t) ? UNAVAILABLE : OK;
      time.after(SERVICE_MS, () => answer(outcome));
    },
  };
}

/**
 * Finite capacity: `workers` serve one FIFO queue (unbounded), each attempt taking
 * `serviceMs(t)` from the moment a worker takes it. The work is done even when its caller has
 * left, so as the queue grows every answer comes later and per-try timeouts become the failure.
 */
export function queueUpstream(
  time: VirtualTime,
  now: () => number,
  workers: number,
  serviceMs: (t: number) => number,
): Upstream & { readonly queued: () => number; queueWaitMs(): number; readonly workers: number } {
  const queue: ((outcome: AttemptOutcome) => void)[] = [];
  let idle = workers;
  const startNext = (): void => {
    while (idle > 0 && queue.length > 0) {
      const answer = queue.shift() as (outcome: AttemptOutcome) => void;
      idle -= 1;
      time.after(serviceMs(now()), () => {
        idle += 1;
        answer(OK);
        startNext();
      });
    }
  };
  return {
    addresses: ["10.0.0.1"],
    workers,
    queued: () => queue.length,
    // Every worker busy: the queue ahead, served `workers` at a time, then a worker's turn.
    queueWaitMs: () => (idle > 0 ? 0 : ((queue.length + 1) / workers) * serviceMs(now())),
    send(_target, answer) {
      queue.push(answer);
      startNext();
    },
  };
}

// How long an idle kept-alive connection lives. undici closes it after the server's own
// `Keep-Alive: timeout=` hint minus 1 s (its default of 4 s applies only without a hint); the
// billing servers of the fleet check keep connections for 60 s, as many HTTP servers do. With
// 4 s here, a pod whose circuit opened got a new connection (and another instance) when the circuit
// half-opened 10 s later; in reality the connection to the sick instance is still there, and the
// half-open probe fails on it again.
const KEEP_ALIVE_MS = 59_000;

interface Connection {
  readonly instance: number;
  busy: boolean;
  lastUsed: number;
}

/**
 * Three billing instances, `sick` answering 503 to everything, the others 200 after 10 ms.
 * `headless`: three addresses, one per instance. `clusterip`: one address, and a connection-level
 * balancer (round-robin per new connection, as the demo's TCP balancer and kube-proxy do) picks
 * the instance of each new connection; a kept-alive connection sticks to its instance until it
 * has been idle for 59 s. An attempt with `fresh` opens a connection used once. `hung`: the sick
 * instance never answers at all (a process stuck in a deadlock or a long pause), so every attempt
 * that reaches it ends at the caller's timeout.
 */
export function sickInstances(
  time: VirtualTime,
  mode: "headless" | "clusterip",
  sick = 1,
  hung = false,
): Upstream {
  const instances = 3;
  let roundRobin = 0;
  const pools = new Map<number, Connection[]>();
  const pick = (): number => roundRobin++ % instances;
  const instanceOf = (target: AttemptTarget): { instance: number; done: () => void } => {
    if (mode === "headless") return { instance: Number(target.address.split(".")[3]) - 1, done: () => {} };
    if (target.fresh) return { instance: pick(), done: () => {} };
    let pool = pools.get(target.pod);
    if (pool === undefined) {
      pool = [];
      pools.set(target.pod, pool);
    }
    const now = time.clock();
    const alive = pool.filter((c) => now - c.lastUsed < KEEP_ALIVE_MS || c.busy);
    pools.set(target.pod, alive);
    let connection = alive.find((c) => !c.busy);
    if (connection === undefined) {
      connection = { instance: pick(), busy: false, lastUsed: now };
      alive.push(connection);
    }
    const used = connection;
    used.busy = true;
    return {
      instance: used.instance,
      done: () => {
        used.busy = false;
        used.lastUsed = time.clock();
      },
    };
  };
  return {
    addresses: mode === "headless" ? ["10.0.0.1", "10.0.0.2", "10.0.0.3"] : ["10.0.0.1"],
    // Attempts in flight finish on their connection; the next ones open new connections.
    renew: (pod) => pools.set(pod, []),
    send(target, answer) {
      const { instance, done } = instanceOf(target);
      if (hung && instance === sick) return;
      time.after(SERVICE_MS, () => {
        done();
        answer(instance === sick ? UNAVAILABLE : OK);
      });
    },
  };
}

const shedders = new WeakMap<Upstream, Upstream>();

/**
 * The same upstream, protecting itself (one per run, whatever the number of pods): an attempt that
 * would wait in its queue longer than `maxWaitMs` is answered at once with 503 and `Retry-After`
 * (`retryAfterS` seconds) instead of being queued, as a server with a bounded queue or CoDel-style
 * queue-time shedding does. Billing's own word reaches every pod within one round trip, whatever
 * its rate: the signal no per-pod policy has at 1,000 pods.
 */
export function sheddingUpstream(
  upstream: Upstream,
  time: VirtualTime,
  maxWaitMs: number,
  retryAfterS: number,
): Upstream {
  const known = shedders.get(upstream);
  if (known !== undefined) return known;
  const busy: AttemptOutcome = { kind: "response", status: 503, retryAfter: String(retryAfterS) };
  const shedding: Upstream = {
    addresses: upstream.addresses,
    send(target, answer) {
      if ((upstream.queueWaitMs?.() ?? 0) > maxWaitMs) time.after(CONNECT_MS, () => answer(busy));
      else upstream.send(target, answer);
    },
  };
  shedders.set(upstream, shedding);
  return shedding;
}

const doors = new WeakMap<Upstream, Upstream>();

/**
 * The same upstream behind a proxy at its door that bounds the time an attempt waits its turn, as
 * HAProxy does with a server's `maxconn` and `timeout queue`: at most `maxConn` attempts reach the
 * upstream at once (its workers, so that its own queue stays empty), the others wait at the door in
 * arrival order, and one that has waited `maxWaitMs` without its turn is answered 503 with
 * `Retry-After` (`retryAfterS` seconds). Not modelled: HAProxy's `option abortonclose`, which also
 * drops a waiting attempt whose caller left (here it keeps its place until its turn or its timeout).
 * One per run, whatever the number of pods.
 */
export function queueAtTheDoor(
  upstream: Upstream,
  time: VirtualTime,
  maxConn: number,
  maxWaitMs: number,
  retryAfterS: number,
): Upstream {
  const known = doors.get(upstream);
  if (known !== undefined) return known;
  const busy: AttemptOutcome = { kind: "response", status: 503, retryAfter: String(retryAfterS) };
  interface Waiting {
    readonly target: AttemptTarget;
    readonly answer: (outcome: AttemptOutcome) => void;
    /** Answered: forwarded, or timed out at the door. */
    done: boolean;
  }
  const waiting: Waiting[] = [];
  let through = 0;
  const forward = (target: AttemptTarget, answer: (outcome: AttemptOutcome) => void): void => {
    through += 1;
    upstream.send(target, (outcome) => {
      through -= 1;
      answer(outcome);
      next();
    });
  };
  // Whenever a place frees, the oldest attempt still waiting takes it (those timed out are skipped),
  // so while a place is free nobody waits.
  const next = (): void => {
    while (through < maxConn && waiting.length > 0) {
      const job = waiting.shift() as Waiting;
      if (job.done) continue;
      job.done = true;
      forward(job.target, job.answer);
    }
  };
  const door: Upstream = {
    addresses: upstream.addresses,
    send(target, answer) {
      if (through < maxConn) return forward(target, answer);
      const job: Waiting = { target, answer, done: false };
      waiting.push(job);
      time.after(maxWaitMs, () => {
        if (job.done) return;
        job.done = true;
        answer(busy);
      });
    },
  };
  doors.set(upstream, door);
  return door;
}
