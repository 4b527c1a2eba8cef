import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

// A simulated billing service that fails the way real ones do: overloaded (503), rate limited
// (429 + Retry-After), dropped connections, hung requests, and - the nasty one - work done but
// the answer lost. It dedupes by Idempotency-Key like a well-behaved API, and counts duplicate
// providers so the demo can prove that retrying never created one twice.

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). Good enough for simulated faults. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, to turn "seed + request name + attempt number" into a PRNG seed. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * What happens to one attempt. "reset" drops the connection before any work; "lost" creates
 * the provider and then drops the connection (the client cannot know it worked); "slow"
 * creates it and answers only after `slowMs`.
 */
export type Fault = "none" | "503" | "429" | "reset" | "slow" | "lost";

export type FaultRates = Readonly<Record<Exclude<Fault, "none">, number>>;

// About 1 attempt in 4 fails. Each fault kind exercises a different retry path of the sidecar.
export const DEFAULT_FAULT_RATES: FaultRates = {
  "503": 0.08,
  "429": 0.04,
  reset: 0.05,
  slow: 0.04,
  lost: 0.05,
};

/**
 * The fault of attempt `attempt` of the request named `name`. Derived from the seed, the name
 * and the attempt number - not from arrival order - so the direct run and the sidecar run meet
 * exactly the same faults even though concurrency interleaves requests differently.
 */
export function pickFault(seed: number, name: string, attempt: number, rates: FaultRates): Fault {
  let roll = mulberry32(hash32(`${seed}:${name}#${attempt}`))();
  for (const [fault, rate] of Object.entries(rates) as [Exclude<Fault, "none">, number][]) {
    if (roll < rate) return fault;
    roll -= rate;
  }
  return "none";
}

export interface FlakyBillingOptions {
  readonly seed: number;
  readonly rates?: FaultRates;
  /** How long a "slow" attempt hangs before answering. */
  readonly slowMs?: number;
  /** The Retry-After of a 429, seconds. */
  readonly retryAfterSeconds?: number;
  /** Replaces pickFault (tests script the faults; a sick instance answers "503" to all). */
  readonly decide?: (name: string, attempt: number) => Fault;
  /** Loopback address to listen on: 127.0.0.2, .3, .4 are three instances of one service. */
  readonly host?: string;
  /** 0 (default) picks a free port; instances on distinct addresses share one port. */
  readonly port?: number;
}

export interface BillingStats {
  /** Every request that reached POST /provider, faulty or not. */
  attempts: number;
  faults: Record<Fault, number>;
  providersCreated: number;
  /** Providers created for a name that already had one: the harm of blind retries. */
  duplicates: number;
  /** Requests answered from the idempotency store instead of creating again. */
  replays: number;
}

export interface FlakyBilling {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly stats: BillingStats;
  close(): Promise<void>;
}

interface Provider {
  readonly id: number;
  readonly name: string;
}

export async function startFlakyBilling(options: FlakyBillingOptions): Promise<FlakyBilling> {
  const rates = options.rates ?? DEFAULT_FAULT_RATES;
  const slowMs = options.slowMs ?? 2500;
  const host = options.host ?? "127.0.0.1";
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  const decide = options.decide ?? ((name, attempt) => pickFault(options.seed, name, attempt, rates));

  const stats: BillingStats = {
    attempts: 0,
    faults: { none: 0, "503": 0, "429": 0, reset: 0, slow: 0, lost: 0 },
    providersCreated: 0,
    duplicates: 0,
    replays: 0,
  };
  const byKey = new Map<string, Provider>();
  const namesSeen = new Set<string>();
  const attemptsByName = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let anonymous = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (req.method !== "POST" || (req.url ?? "").split("?")[0] !== "/provider") {
      return json(res, 404, { error: "not found" });
    }
    let name: string;
    try {
      const parsed = JSON.parse(body || "{}") as { name?: unknown };
      name = typeof parsed.name === "string" ? parsed.name : `anonymous-${++anonymous}`;
    } catch {
      return json(res, 400, { error: "body must be JSON" });
    }
    stats.attempts++;
    const attempt = (attemptsByName.get(name) ?? 0) + 1;
    attemptsByName.set(name, attempt);
    const fault = decide(name, attempt);
    stats.faults[fault]++;

    // Faults that strike before any work is done (an overloaded or rate-limiting front end).
    if (fault === "503") return json(res, 503, { error: "temporarily unavailable" });
    if (fault === "429") return json(res, 429, { error: "slow down" }, { "retry-after": retryAfter });
    if (fault === "reset") return void req.socket.resetAndDestroy();

    // The work: create, unless this Idempotency-Key already created one (then replay it).
    const key = req.headers["idempotency-key"];
    const known = typeof key === "string" ? byKey.get(key) : undefined;
    const provider = known ?? create(name);
    if (known) stats.replays++;
    else if (typeof key === "string") byKey.set(key, provider);
    const status = known ? 200 : 201;

    // Faults that strike after the work: the provider exists, the client may never hear of it.
    if (fault === "lost") return void req.socket.resetAndDestroy();
    if (fault === "slow") {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) json(res, status, { id: provider.id });
      }, slowMs);
      timers.add(timer);
      res.once("close", () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
      return;
    }
    json(res, status, { id: provider.id });
  }

  function create(name: string): Provider {
    stats.providersCreated++;
    if (namesSeen.has(name)) stats.duplicates++;
    namesSeen.add(name);
    return { id: stats.providersCreated, name };
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host}:${port}`,
    host,
    port,
    stats,
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy(); // hung "slow" requests must not hold shutdown
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error("body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
