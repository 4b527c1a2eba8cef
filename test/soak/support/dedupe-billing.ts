import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { mulberry32 } from "../../../demo/flaky-billing.js";

/** What the billing does with one attempt. "before" faults create nothing; "after" ones lose the answer. */
export type Fault =
  | "fail_before"
  | "reset_before"
  | "reset_after"
  | "fail_after"
  | "hang_after"
  | "slow"
  | "ok";

/** Cumulative probabilities of each fault per attempt. */
export type FaultMix = Partial<Record<Fault, number>>;

export interface Provider {
  readonly id: number;
  readonly name: string;
  readonly key: string;
}

export interface DedupeBilling {
  readonly url: string;
  readonly port: number;
  /** Providers by Idempotency-Key. */
  readonly byKey: Map<string, Provider>;
  /** How many providers were created per name (the client's request id): must never exceed 1. */
  readonly createdByName: Map<string, number>;
  readonly faults: Record<Fault, number>;
  attempts: number;
  /** Attempts whose answer has not been sent yet. */
  inFlight: number;
  /** Attempts without an Idempotency-Key (a sidecar bug): answered 400. */
  missingKey: number;
  mix: FaultMix;
  /** Every answer waits this long first (so that attempts are in flight). */
  delayMs: number;
  /** Destroys every socket (in-flight attempts get a reset) and stops listening. */
  crash(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A small seeded PRNG (the demo's mulberry32), so that a failing run can be replayed with its seed. */
export const seeded = mulberry32;

/**
 * A fake billing service that is idempotent the way a real one must be: POST /provider with an
 * Idempotency-Key creates a provider once; the same key again returns the same provider. On
 * purpose it also fails before creating, resets, and loses the answer after creating.
 */
export async function startDedupeBilling(seed: number, mix: FaultMix, delayMs = 0): Promise<DedupeBilling> {
  const random = seeded(seed);
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  let nextId = 1;
  const billing: DedupeBilling = {
    url: "",
    port: 0,
    byKey: new Map(),
    createdByName: new Map(),
    faults: { fail_before: 0, reset_before: 0, reset_after: 0, fail_after: 0, hang_after: 0, slow: 0, ok: 0 },
    attempts: 0,
    inFlight: 0,
    missingKey: 0,
    mix,
    delayMs,
    crash: async () => {
      for (const socket of sockets) socket.destroy();
      hanging.clear();
      server.close();
      await once(server, "close");
    },
    restart: async () => {
      server.listen(billing.port, "127.0.0.1");
      await once(server, "listening");
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      if (server.listening) {
        server.close();
        await once(server, "close");
      }
    },
  };

  const pick = (): Fault => {
    const r = random();
    let sum = 0;
    for (const fault of [
      "fail_before",
      "reset_before",
      "reset_after",
      "fail_after",
      "hang_after",
      "slow",
    ] as const) {
      sum += billing.mix[fault] ?? 0;
      if (r < sum) return fault;
    }
    return "ok";
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      billing.attempts += 1;
      billing.inFlight += 1;
      let answered = false;
      const finish = () => {
        if (!answered) {
          answered = true;
          billing.inFlight -= 1;
        }
      };
      res.on("close", finish);
      const handle = () => {
        const key = req.headers["idempotency-key"];
        if (typeof key !== "string" || key === "") {
          billing.missingKey += 1;
          res.writeHead(400, { "content-type": "application/json" });
          res.end('{"error":"Idempotency-Key required"}');
          return;
        }
        const fault = pick();
        billing.faults[fault] += 1;
        if (fault === "fail_before") {
          res.writeHead(503, { "content-type": "application/json" });
          res.end('{"error":"busy"}');
          return;
        }
        if (fault === "reset_before") {
          req.socket.destroy();
          return;
        }
        let provider = billing.byKey.get(key);
        const created = provider === undefined;
        if (provider === undefined) {
          const name = String((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { name: string }).name);
          provider = { id: nextId++, name, key };
          billing.byKey.set(key, provider);
          billing.createdByName.set(name, (billing.createdByName.get(name) ?? 0) + 1);
        }
        if (fault === "reset_after") {
          req.socket.destroy();
          return;
        }
        if (fault === "fail_after") {
          res.writeHead(502, { "content-type": "application/json" });
          res.end('{"error":"bad gateway behind billing"}');
          return;
        }
        if (fault === "hang_after") {
          hanging.add(res); // never answered; the sidecar's per-try timeout gives up on it
          res.on("close", () => hanging.delete(res));
          return;
        }
        const answer = () => {
          if (res.destroyed) return;
          res.writeHead(created ? 201 : 200, { "content-type": "application/json" });
          res.end(JSON.stringify(provider));
        };
        if (fault === "slow") setTimeout(answer, 20 + Math.floor(random() * 80));
        else answer();
      };
      if (billing.delayMs > 0) setTimeout(handle, billing.delayMs);
      else handle();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  Object.assign(billing, { port, url: `http://127.0.0.1:${port}` });
  return billing;
}
