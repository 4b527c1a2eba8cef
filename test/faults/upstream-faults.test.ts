import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { closedPort } from "../support/scenario.js";
import { type Harness, startHarness } from "../support/sidecar-harness.js";
import { exchange, rawRequest } from "./support/raw-client.js";
import {
  answer,
  finWithoutResponse,
  hang,
  type RawBehaviour,
  type RawUpstream,
  resetAfterRequest,
  startRawUpstream,
} from "./support/raw-upstream.js";

// Every case: an upstream that misbehaves on purpose, one client request on its own connection.
// The client must get exactly one final answer on the wire (the upstream's, or the sidecar's own
// 502/504), the sidecar must stay up, and the metrics must name what happened.

const ENV = {
  MAX_RETRIES: "2",
  BACKOFF_BASE_MS: "10",
  BACKOFF_JITTER: "0",
  PER_TRY_TIMEOUT_MS: "300",
  REQUEST_TIMEOUT_MS: "4000",
  CIRCUIT_FAILURE_THRESHOLD: "0",
};

let upstream: RawUpstream;
let harness: Harness;

async function start(fallback?: RawBehaviour, env: Record<string, string> = {}): Promise<void> {
  upstream = await startRawUpstream(fallback);
  harness = await startHarness({ ...ENV, UPSTREAM_URL: upstream.url, ...env });
}

afterEach(async () => {
  await harness?.close();
  await upstream?.close();
});

const post = () => rawRequest("POST", "/provider", { "content-type": "application/json" }, '{"name":"a"}');

/** Attempts by outcome label, as retry_sidecar_upstream_attempts_total counts them. */
async function attempts(outcome: string): Promise<number> {
  return harness.metric("retry_sidecar_upstream_attempts_total", { route: "/provider", outcome });
}

async function answered(code: string, method = "POST"): Promise<number> {
  return harness.metric("retry_sidecar_requests_total", { route: "/provider", method, code });
}

/** The sidecar still serves: health probe and a normal forwarded request. */
async function expectAlive(): Promise<void> {
  const health = await fetch(`${harness.adminUrl}/healthz`);
  expect(health.status).toBe(200);
  upstream.fallback = answer(200, "ok");
  const after = await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/alive"));
  expect(after.finals.map((r) => r.status)).toEqual([200]);
}

const resetOnAccept = (count: number) => {
  let left = count;
  return (socket: Socket) => {
    if (left <= 0) return false;
    left -= 1;
    socket.resetAndDestroy();
    return true;
  };
};

const sendRaw =
  (text: string): RawBehaviour =>
  (socket) =>
    socket.write(text);

describe("upstream faults: a retry recovers, the client sees only the good answer", () => {
  const recoverable: Array<{ name: string; fault: RawBehaviour; label: string }> = [
    { name: "reset after the request was read", fault: resetAfterRequest, label: "reset" },
    { name: "FIN without any response", fault: finWithoutResponse, label: "reset" },
    { name: "malformed status line", fault: sendRaw("HTTP/1.1 abc\r\n\r\n"), label: "reset" },
    { name: "garbage instead of HTTP", fault: sendRaw("hello there\r\n\r\n"), label: "reset" },
    {
      name: "response headers over the 16 KiB limit",
      fault: sendRaw(`HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(20_000)}\r\ncontent-length: 0\r\n\r\n`),
      label: "reset",
    },
    { name: "no headers within PER_TRY_TIMEOUT_MS", fault: hang, label: "timeout" },
  ];

  it.each(recoverable)("$name: retried once, client gets 200", async ({ fault, label }) => {
    await start();
    upstream.script(fault, answer(201, "created"));

    const result = await exchange(harness.sidecar.proxyPort, post());

    expect(result.finals.map((r) => [r.status, r.body])).toEqual([[201, "created"]]);
    expect(result.finals[0]?.headers["x-attempt-count"]).toBe("2");
    expect(upstream.requests).toHaveLength(2);
    // Both attempts carried the same idempotency key, numbered 1 and 2.
    const [first, second] = upstream.requests;
    expect(first?.headers["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(second?.headers["idempotency-key"]).toBe(first?.headers["idempotency-key"]);
    expect([first?.headers["x-attempt-count"], second?.headers["x-attempt-count"]]).toEqual(["1", "2"]);
    expect(await attempts(label)).toBe(1);
    expect(await attempts("201")).toBe(1);
    expect(await harness.metric("retry_sidecar_retries_total", { route: "/provider", reason: label })).toBe(
      1,
    );
    expect(await harness.metric("retry_sidecar_retry_success_total", { route: "/provider" })).toBe(1);
    expect(await answered("201")).toBe(1);
    await expectAlive();
  });

  it("reset on accept, before the request was sent: retried, 200", async () => {
    await start();
    upstream.onAccept = resetOnAccept(1);

    const result = await exchange(harness.sidecar.proxyPort, post());

    expect(result.finals.map((r) => r.status)).toEqual([200]);
    expect(result.finals[0]?.headers["x-attempt-count"]).toBe("2");
    expect(upstream.requests).toHaveLength(1); // the first attempt never reached the upstream
    expect(await attempts("reset")).toBe(1);
    expect(await attempts("200")).toBe(1);
    await expectAlive();
  });
});

describe("upstream faults that persist: the client gets the sidecar's own 502/504", () => {
  const persistent: Array<{ name: string; fault: RawBehaviour; status: number; reason: string }> = [
    { name: "reset after every request", fault: resetAfterRequest, status: 502, reason: "reset" },
    { name: "FIN without response every time", fault: finWithoutResponse, status: 502, reason: "reset" },
    {
      name: "malformed HTTP every time",
      fault: sendRaw("HTTP/1.1 2OO OK\r\n\r\n"),
      status: 502,
      reason: "reset",
    },
    { name: "hangs every time", fault: hang, status: 504, reason: "timeout" },
    {
      name: "slow headers: one header line every 100 ms",
      fault: (socket) => {
        socket.write("HTTP/1.1 200 OK\r\n");
        let n = 0;
        const timer = setInterval(() => {
          if (socket.destroyed || n++ > 20) return clearInterval(timer);
          socket.write(`x-slow-${n}: 1\r\n`);
        }, 100);
        socket.on("close", () => clearInterval(timer));
      },
      status: 504,
      reason: "timeout",
    },
  ];

  it.each(persistent)("$name: $status after 3 attempts", async ({ fault, status, reason }) => {
    await start(fault);

    const result = await exchange(harness.sidecar.proxyPort, post());

    expect(result.finals).toHaveLength(1);
    const [final] = result.finals;
    expect(final?.status).toBe(status);
    expect(final?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(final?.body ?? "")).toMatchObject({ reason, attempts: 3 });
    expect(await attempts(reason)).toBe(3);
    expect(await harness.metric("retry_sidecar_retries_total", { route: "/provider", reason })).toBe(2);
    expect(await harness.metric("retry_sidecar_retries_exhausted_total", { route: "/provider" })).toBe(1);
    expect(await answered(String(status))).toBe(1);
    const line = harness.logs.find((l) => l.msg === "request completed" && l.status === status);
    expect(line).toMatchObject({ level: "warn", attempts: 3 });
    await expectAlive();
  });

  it("reset on accept every time: 502 after 3 attempts, nothing reached the upstream", async () => {
    await start();
    upstream.onAccept = () => {
      return true;
    };
    upstream.onAccept = resetOnAccept(3);

    const result = await exchange(harness.sidecar.proxyPort, post());

    expect(result.finals.map((r) => r.status)).toEqual([502]);
    expect(upstream.requests).toHaveLength(0);
    expect(await attempts("reset")).toBe(3);
    await expectAlive();
  });

  it("no headers within PER_TRY_TIMEOUT_MS: the attempt's connection is closed at its timeout", async () => {
    const closed: Promise<number>[] = [];
    await start(
      (socket) => {
        closed.push(new Promise((resolve) => socket.once("close", () => resolve(Date.now()))));
      },
      { MAX_RETRIES: "0" },
    );
    const result = await exchange(harness.sidecar.proxyPort, post());
    expect(result.finals.map((r) => r.status)).toEqual([504]);
    const answeredAt = Date.now();
    expect(closed).toHaveLength(1);
    // Not left open for an answer nobody will read (the upstream here never answers).
    expect((await closed[0]) as number).toBeLessThan(answeredAt + 3000);
  });

  it("connection refused: 502 connect_error, counted as connect_error", async () => {
    await start(undefined, { UPSTREAM_URL: `http://127.0.0.1:${await closedPort()}` });

    const result = await exchange(harness.sidecar.proxyPort, post());

    expect(result.finals.map((r) => r.status)).toEqual([502]);
    expect(JSON.parse(result.finals[0]?.body ?? "")).toMatchObject({ reason: "connect_error", attempts: 3 });
    expect(await attempts("connect_error")).toBe(3);
    expect(await fetch(`${harness.adminUrl}/healthz`).then((r) => r.status)).toBe(200);
  });
});

describe("upstream faults after the response headers were sent", () => {
  it("reset in the middle of the body: the client sees a cut response, never a clean short one", async () => {
    await start((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789");
      setTimeout(() => socket.resetAndDestroy(), 20);
    });

    const result = await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/1"));

    expect(result.finals).toHaveLength(1);
    expect(result.finals[0]?.status).toBe(200);
    expect(result.finals[0]?.complete).toBe(false);
    expect(result.finals[0]?.body).toBe("0123456789");
    expect(upstream.requests).toHaveLength(1); // headers arrived: the answer is committed, no retry
    expect(await attempts("200")).toBe(1);
    // Counted as the status that was sent (not as 499, which is for clients that left), with the
    // upstream's error in a warn line.
    expect(await answered("200", "GET")).toBe(1);
    expect(await answered("499", "GET")).toBe(0);
    const line = harness.logs.find((l) => l.msg === "request completed");
    expect(line).toMatchObject({ level: "warn", status: 200, error: { code: "ECONNRESET" } });
    await expectAlive();
  });

  it("client leaves in the middle of a slow body: counted 499, the upstream socket is let go", async () => {
    await start((socket) => socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nab"));

    // The client gives up after 500 ms: long enough for the headers and "ab" to reach it on a
    // loaded machine (the body never completes: 2 of 10 bytes).
    const result = await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/1"), {
      timeoutMs: 500,
    });

    expect(result.finals.map((r) => [r.status, r.complete])).toEqual([[200, false]]);
    await expect.poll(() => answered("499", "GET")).toBe(1);
    expect(await answered("200", "GET")).toBe(0);
    await expectAlive();
  });

  it("client leaves in the middle of a slow body: the upstream's connection is closed then, not at the body's timeout", async () => {
    let upstreamClosed: Promise<number> | undefined;
    await start(
      (socket) => {
        upstreamClosed = new Promise((resolve) => socket.once("close", () => resolve(Date.now())));
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nab");
      },
      { PER_TRY_TIMEOUT_MS: "10000", REQUEST_TIMEOUT_MS: "20000" }, // the body's silence timeout is far away
    );
    await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/1"), { timeoutMs: 500 });
    const left = Date.now();
    await expect.poll(() => answered("499", "GET")).toBe(1);
    const closedAt = await upstreamClosed;
    expect((closedAt as number) - left).toBeLessThan(3000);
  });

  it("chunked body cut by a reset: the sidecar never sends the final 0-chunk", async () => {
    await start((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n");
      setTimeout(() => socket.resetAndDestroy(), 20);
    });

    const result = await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/1"));

    expect(result.finals).toHaveLength(1);
    expect(result.finals[0]?.complete).toBe(false);
    expect(result.finals[0]?.body).toBe("hello");
    await expectAlive();
  });

  it("slow but steady body: streams to the end even past PER_TRY_TIMEOUT_MS", async () => {
    await start((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n");
      let n = 0;
      const timer = setInterval(() => {
        if (socket.destroyed) return clearInterval(timer);
        socket.write(String(n));
        if (++n === 6) clearInterval(timer);
      }, 100);
    });

    const result = await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/1"));

    expect(result.finals.map((r) => [r.status, r.body, r.complete])).toEqual([[200, "012345", true]]);
    expect(result.ms).toBeGreaterThanOrEqual(500); // longer than the 300 ms per-try limit
    await expectAlive();
  });

  it("stalled body: cut after PER_TRY_TIMEOUT_MS of silence, the client sees it cut", async () => {
    await start((socket) => socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nab"));

    const result = await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/1"));

    expect(result.ended).not.toBe("timeout");
    expect(result.finals.map((r) => [r.status, r.body, r.complete])).toEqual([[200, "ab", false]]);
    expect(result.ms).toBeLessThan(3000);
    await expect.poll(() => answered("200", "GET")).toBe(1);
    const line = harness.logs.find((l) => l.msg === "request completed");
    expect(line).toMatchObject({ level: "warn", status: 200, error: { code: "UND_ERR_BODY_TIMEOUT" } });
    await expectAlive();
  });
});

describe("interim 1xx responses", () => {
  it("102 Processing and 103 Early Hints before the answer: one final answer, one attempt", async () => {
    await start(
      sendRaw(
        "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n" +
          "HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
      ),
    );

    const result = await exchange(harness.sidecar.proxyPort, post());

    expect(result.finals.map((r) => [r.status, r.body])).toEqual([[201, "ok"]]);
    expect(result.finals[0]?.headers["x-attempt-count"]).toBe("1");
    expect(upstream.requests).toHaveLength(1);
    expect(await attempts("201")).toBe(1);
    await expectAlive();
  });

  it("an unsolicited 100 Continue (undici refuses it as a bad response): one clean 502", async () => {
    // The sidecar never sends Expect upstream, so a 100 is unsolicited; undici 7 destroys the
    // socket ("bad response") instead of skipping it. Documented in the Guarantees section.
    await start(sendRaw("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok"));

    const result = await exchange(harness.sidecar.proxyPort, post());

    expect(result.finals.map((r) => r.status)).toEqual([502]);
    expect(await attempts("reset")).toBe(3);
    await expectAlive();
  });

  it("an unsolicited 101 Switching Protocols is not passed on as an upgrade", async () => {
    await start(
      sendRaw("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"),
    );

    const result = await exchange(harness.sidecar.proxyPort, post());

    expect(result.finals).toHaveLength(1);
    expect(result.finals[0]?.status).toBe(502);
    expect(result.responses.some((r) => r.status === 101)).toBe(false);
    await expectAlive();
  });
});

describe("stale keep-alive connections", () => {
  it("the upstream closed the idle connection as the next request was written: retried, 200", async () => {
    // Request 2 reuses the pooled socket; the upstream closes it without reading (its idle timer
    // fired). The request never reached the upstream's application, so a retry on a fresh
    // connection is safe and must happen.
    await start((socket, request) => {
      if (request.onConnection === 1) answer(200, `first on ${request.connection}`)(socket, request);
      else socket.end();
    });

    const first = await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/1"));
    const second = await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/2"));

    expect(first.finals.map((r) => [r.status, r.body])).toEqual([[200, "first on 1"]]);
    expect(second.finals.map((r) => [r.status, r.body])).toEqual([[200, "first on 2"]]);
    expect(second.finals[0]?.headers["x-attempt-count"]).toBe("2");
    expect(upstream.connections).toBe(2);
    expect(await attempts("reset")).toBe(1);
    expect(await harness.metric("retry_sidecar_retries_total", { route: "/provider", reason: "reset" })).toBe(
      1,
    );
    const retry = harness.logs.find((l) => l.msg === "upstream retry");
    expect(retry).toMatchObject({ attempt: 2, reason: "reset", delayMs: 10 });
  });

  it("an upstream with a 30 ms idle timeout under requests spaced around it: every request 200", async () => {
    // The real race, left to the scheduler: requests arrive just before, at and after the
    // upstream drops idle sockets. Whatever the interleaving, no client may see a failure.
    await start((socket, request) => {
      answer(200, "ok", { "keep-alive": "timeout=60" })(socket, request);
      const idle = setTimeout(() => socket.end(), 30);
      socket.once("data", () => clearTimeout(idle));
    });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const result = await exchange(harness.sidecar.proxyPort, rawRequest("GET", `/provider/${i}`));
      statuses.push(...result.finals.map((r) => r.status));
      await new Promise((resolve) => setTimeout(resolve, 25 + (i % 10)));
    }

    expect(statuses).toEqual(Array(40).fill(200));
    expect(await answered("200", "GET")).toBe(40);
    expect(await attempts("200")).toBe(40);
  });
});
