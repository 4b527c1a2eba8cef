import { Agent, request } from "node:http";

/** What one client request came to: an answer (status and whole body) or a transport error. */
export interface Outcome {
  readonly index: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly status?: number;
  readonly body?: string;
  /** The body arrived whole (Content-Length matched, or the message ended cleanly). */
  readonly complete?: boolean;
  /** The x-attempt-count response header: upstream attempts the sidecar made for this request. */
  readonly attempts?: number;
  /** ECONNREFUSED, ECONNRESET, "aborted", "timeout", ... when no whole answer arrived. */
  readonly error?: string;
}

export interface LoadOptions {
  readonly port: number;
  /** Requests per second, open loop: launched on schedule whether or not earlier ones finished. */
  readonly rate: number;
  readonly durationMs: number;
  /** Hard cap on requests, whatever the timer does. */
  readonly maxRequests: number;
  /** A fresh connection per request (agent: false) instead of a keep-alive pool. */
  readonly freshConnections?: boolean;
  /** Per-request client timeout: a request that takes longer counts as unanswered. */
  readonly timeoutMs?: number;
  /** Called every tick; returning false stops launching (the run still waits for the rest). */
  readonly keepGoing?: () => boolean;
  readonly body: (index: number) => string;
  readonly path?: string;
}

export interface LoadRun {
  /** Resolves once every launched request has an outcome. */
  readonly done: Promise<Outcome[]>;
  /** Requests launched so far. */
  launched(): number;
  /** Requests launched and not yet settled. */
  pending(): number;
  stop(): void;
}

/** An open-loop load generator on node:http, bounded in time and in count. */
export function startLoad(options: LoadOptions): LoadRun {
  // A well-behaved keep-alive client: idle sockets are dropped after 2 s, before the sidecar's
  // own idle timeout (Node's 5 s, announced as "Keep-Alive: timeout=5"; undici honours it). Without
  // this, node:http's Agent reuses a socket the sidecar is closing: the client-side stale race.
  const agent = options.freshConnections
    ? false
    : new Agent({ keepAlive: true, maxSockets: 256, timeout: 2_000 });
  const promises: Array<Promise<Outcome>> = [];
  let settled = 0;
  let stopped = false;
  const started = Date.now();
  const tickMs = 10;
  let finishLoop: () => void = () => {};
  const loopDone = new Promise<void>((resolve) => {
    finishLoop = resolve;
  });
  const timer = setInterval(() => {
    const elapsed = Date.now() - started;
    const due = Math.min(options.maxRequests, Math.floor((elapsed * options.rate) / 1000));
    if (
      stopped ||
      elapsed >= options.durationMs ||
      (options.keepGoing !== undefined && !options.keepGoing())
    ) {
      clearInterval(timer);
      finishLoop();
      return;
    }
    while (promises.length < due) {
      const p = send(promises.length);
      void p.then(() => {
        settled += 1;
      });
      promises.push(p);
    }
    if (promises.length >= options.maxRequests) {
      clearInterval(timer);
      finishLoop();
    }
  }, tickMs);

  function send(index: number): Promise<Outcome> {
    const startedAt = Date.now();
    const body = options.body(index);
    return new Promise((resolve) => {
      let done = false;
      const finish = (outcome: Omit<Outcome, "index" | "startedAt" | "endedAt">) => {
        if (done) return;
        done = true;
        resolve({ index, startedAt, endedAt: Date.now(), ...outcome });
      };
      const req = request(
        {
          host: "127.0.0.1",
          port: options.port,
          method: "POST",
          path: options.path ?? "/provider",
          agent,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            // The sidecar logs it as reqId: an unanswered request can be found in its log.
            "x-request-id": `load-${index}`,
          },
          timeout: options.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const length = res.headers["content-length"];
            finish({
              status: res.statusCode,
              body: text,
              complete: length === undefined || Number(length) === Buffer.byteLength(text),
              attempts: Number(res.headers["x-attempt-count"]),
            });
          });
          res.on("aborted", () => finish({ status: res.statusCode, error: "aborted" }));
          res.on("error", (error: NodeJS.ErrnoException) =>
            finish({ status: res.statusCode, error: error.code ?? error.message }),
          );
        },
      );
      req.on("timeout", () => {
        finish({ error: "timeout" });
        req.destroy();
      });
      req.on("error", (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
      req.end(body);
    });
  }

  return {
    done: loopDone.then(async () => {
      const outcomes = await Promise.all(promises);
      if (agent) agent.destroy();
      return outcomes;
    }),
    launched: () => promises.length,
    pending: () => promises.length - settled,
    stop: () => {
      stopped = true;
    },
  };
}
