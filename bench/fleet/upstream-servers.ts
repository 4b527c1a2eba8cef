import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { mulberry32 } from "../../demo/flaky-billing.js";
import { startTcpRoundRobin } from "../../demo/tcp-round-robin.js";
import { fifoModel } from "./fifo-billing.js";
import type { UpstreamModel } from "./scenarios.js";

// The billing models of the fleet scenarios as real HTTP servers on loopback. They run in their
// own process (upstream-main.ts), so that the load generator's event loop cannot delay them.

/** Attempts received: in all, per second since the load started, and per instance address. */
export class AttemptCounter {
  total = 0;
  readonly perSecond: number[] = [];
  readonly perInstance: Record<string, number> = {};
  startedAt: number | undefined;

  count(instance: string): void {
    // Before the load starts only a warm-up sends (warm-up.ts): it is not part of the run.
    if (this.startedAt === undefined) return;
    this.total++;
    this.perInstance[instance] = (this.perInstance[instance] ?? 0) + 1;
    const second = Math.floor((performance.now() - this.startedAt) / 1000);
    if (second >= 0) this.perSecond[second] = (this.perSecond[second] ?? 0) + 1;
  }

  /** Seconds since the load started (undefined before). */
  elapsedS(): number | undefined {
    return this.startedAt === undefined ? undefined : (performance.now() - this.startedAt) / 1000;
  }
}

export interface RunningUpstream {
  /** Where the app and the sidecar send: one address, or (headless) a port on the three instances. */
  target: { host: string; port: number; addresses?: readonly string[] };
  /** Called when the load starts: the model's timeline (outage, capacity drop) begins. */
  start(): void;
  extra(): Record<string, unknown>;
  close(): Promise<void>;
}

export const INSTANCES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"] as const;
const SICK = "127.0.0.3";

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export function answer(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const body = status < 300 ? '{"id":1}' : '{"error":"temporarily unavailable"}';
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length, ...headers });
  res.end(body);
}

/** Counts an attempt once its body has arrived, then hands it on. */
export function attemptsOnly(counter: AttemptCounter, instance: string, next: Handler): Handler {
  return (req, res) => {
    req.resume();
    req.once("end", () => {
      if (req.method !== "POST" || !(req.url ?? "").startsWith("/provider")) return answer(res, 404);
      counter.count(instance);
      next(req, res);
    });
  };
}

export interface Listening {
  server: Server;
  port: number;
  /** Stops listening and cuts every open connection: new connections are refused. */
  stop(): Promise<void>;
  listenAgain(): Promise<void>;
}

export async function listen(handler: Handler, host: string, port: number): Promise<Listening> {
  const sockets = new Set<Socket>();
  const server = createServer({ keepAliveTimeout: 60_000 }, handler);
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const bind = (p: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(p, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  await bind(port);
  const bound = (server.address() as AddressInfo).port;
  return {
    server,
    port: bound,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
    listenAgain: () => bind(bound),
  };
}

/** 10 ms of work, then 503 with probability `failure`, else 200 (seeded). */
function flaky(failure: number, seed: number): Handler {
  const rand = mulberry32(seed);
  return (_req, res) => {
    const status = rand() < failure ? 503 : 200;
    setTimeout(() => answer(res, status), 10);
  };
}

async function randomModel(counter: AttemptCounter, failure: number, seed: number): Promise<RunningUpstream> {
  const billing = await listen(attemptsOnly(counter, "127.0.0.1", flaky(failure, seed)), "127.0.0.1", 0);
  return {
    target: { host: "127.0.0.1", port: billing.port },
    start: () => {},
    extra: () => ({}),
    close: billing.stop,
  };
}

async function outageModel(counter: AttemptCounter, fromS: number, toS: number): Promise<RunningUpstream> {
  const billing = await listen(attemptsOnly(counter, "127.0.0.1", flaky(0, 1)), "127.0.0.1", 0);
  const timers: NodeJS.Timeout[] = [];
  let down = false;
  return {
    target: { host: "127.0.0.1", port: billing.port },
    start: () => {
      timers.push(
        setTimeout(() => {
          down = true;
          void billing.stop();
        }, fromS * 1000),
        setTimeout(() => {
          down = false;
          void billing.listenAgain();
        }, toS * 1000),
      );
    },
    extra: () => ({}),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      if (!down) await billing.stop();
    },
  };
}

/**
 * Three instances on one port (as the pods of a Service); the sick one answers 503 to everything,
 * or (`hung`) never answers: the request stays open until its client gives up.
 */
async function startInstances(counter: AttemptCounter, hung: boolean): Promise<Listening[]> {
  for (let tries = 0; ; tries++) {
    const started: Listening[] = [];
    try {
      let port = 0;
      for (const host of INSTANCES) {
        const handler = host !== SICK ? flaky(0, 1) : hung ? () => {} : flaky(1, 1);
        const instance = await listen(attemptsOnly(counter, host, handler), host, port);
        port = instance.port;
        started.push(instance);
      }
      return started;
    } catch (error) {
      // The port the first instance got can be taken on another address: try another one.
      await Promise.all(started.map((s) => s.stop()));
      if (tries >= 5) throw error;
    }
  }
}

async function sickModel(
  counter: AttemptCounter,
  service: "clusterip" | "headless",
  hung: boolean,
): Promise<RunningUpstream> {
  const instances = await startInstances(counter, hung);
  const port = (instances[0] as Listening).port;
  const stopAll = () => Promise.all(instances.map((i) => i.stop())).then(() => {});
  if (service === "headless") {
    return {
      target: { host: "127.0.0.1", port, addresses: INSTANCES },
      start: () => {},
      extra: () => ({ sickInstance: SICK }),
      close: stopAll,
    };
  }
  const balancer = await startTcpRoundRobin(INSTANCES.map((host) => ({ host, port })));
  return {
    target: { host: balancer.host, port: balancer.port },
    start: () => {},
    extra: () => ({ sickInstance: SICK, connectionsHanded: balancer.handed }),
    close: async () => {
      await balancer.close();
      await stopAll();
    },
  };
}

export function startModel(
  model: UpstreamModel,
  counter: AttemptCounter,
  seed: number,
): Promise<RunningUpstream> {
  switch (model.kind) {
    case "random":
      return randomModel(counter, model.failure, seed);
    case "outage":
      return outageModel(counter, model.fromS, model.toS);
    case "sick":
      return sickModel(counter, model.service, model.hung === true);
    case "fifo":
      return fifoModel(counter, model);
  }
}
