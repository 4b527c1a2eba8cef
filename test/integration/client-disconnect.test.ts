import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { retryLogs, send, until, useScenario } from "../support/scenario.js";
import type { Harness } from "../support/sidecar-harness.js";

// docs/contract.md "When it retries", the client condition: a retry goes only while the client is still connected; a
// client that goes away cancels the wait and the attempt in flight. A retry not made because of
// it counts as retries_skipped{reason="client_gone"}.

const s = useScenario({ status: 200, body: "ok" });

/** Starts a POST that the test aborts; the promise settles (never rejects) when fetch gives up. */
function abortable(h: Harness) {
  const controller = new AbortController();
  const done = fetch(`${h.url}/provider`, {
    method: "POST",
    body: "{}",
    headers: { "x-request-id": "leaving-client" },
    signal: controller.signal,
  }).then(
    async (res) => {
      await res.arrayBuffer();
      return "answered" as const;
    },
    () => "aborted" as const,
  );
  return { abort: () => controller.abort(), done };
}

const completed = (h: Harness) =>
  h.waitForLog((l) => l.msg === "request completed" && l.reqId === "leaving-client");

describe("client disconnect", () => {
  it("a client that leaves during the backoff wait gets no further attempts", async () => {
    const h = await s.start({ BACKOFF_BASE_MS: "1000" });
    s.upstream.script({ status: 503 });
    const client = abortable(h);
    // The 503 was seen (so the sidecar is now in its 1 s wait).
    await until(
      async () => (await h.metric("retry_sidecar_upstream_attempts_total", { outcome: "503" })) === 1,
    );
    const abortedAt = performance.now();
    client.abort();
    expect(await client.done).toBe("aborted");
    const line = await completed(h);
    // The wait is cancelled, not just ignored: the request completes at once, not after the backoff.
    expect(performance.now() - abortedAt).toBeLessThan(600);
    expect(line.status).toBe(499);
    expect(line.attempts).toBe(1);

    await sleep(Math.max(0, 1100 - (performance.now() - abortedAt))); // past the backoff: a due retry would have gone
    expect(s.upstream.received).toHaveLength(1);
    expect(
      await h.metric("retry_sidecar_retries_skipped_total", { route: "/provider", reason: "client_gone" }),
    ).toBe(1);
    expect(await h.metric("retry_sidecar_retries_total")).toBe(0);
    expect(retryLogs(h)).toEqual([]);
  });

  it("a client that leaves during an attempt cancels it: the upstream sees its socket closed", async () => {
    const h = await s.start({ PER_TRY_TIMEOUT_MS: "5000" });
    s.upstream.script({ status: 200, body: "too late", delayMs: 4000 });
    const client = abortable(h);
    await s.upstream.waitForRequests(1);
    const abortedAt = performance.now();
    client.abort();
    expect(await client.done).toBe("aborted");
    expect(await s.upstream.closed(0)).toBe("aborted");
    expect(performance.now() - abortedAt).toBeLessThan(2000);
    const line = await completed(h);
    expect(line.status).toBe(499);
    expect(line.attempts).toBe(1);

    // No retry follows the cancelled attempt.
    await sleep(200);
    expect(s.upstream.received).toHaveLength(1);
    expect(await h.metric("retry_sidecar_retries_total")).toBe(0);
  });

  it("a client that leaves while sending its body: nothing is sent, logged 499 with no attempt, its place in flight given back", async () => {
    const h = await s.start();
    const inFlight = () => h.metric("retry_sidecar_upstream_in_flight");
    const socket = connect(h.sidecar.proxyPort, "127.0.0.1");
    socket.on("error", () => {});
    socket.write(
      "POST /provider HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: leaving-client\r\n" +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":',
    );
    // Admitted: the request holds its place among the attempts in flight while its body comes.
    await until(async () => (await inFlight()) === 1);
    socket.destroy();
    const line = await completed(h);
    expect(line.status).toBe(499);
    expect(line.attempts).toBe(0);
    expect(line.retryStopped).toBe("client_gone");
    // Overload protection would count it in flight for good (and, under a limit, shed for it).
    expect(await inFlight()).toBe(0);
    expect(await h.metric("retry_sidecar_requests_total", { route: "/provider", code: "499" })).toBe(1);
    expect(s.upstream.received).toHaveLength(0);
  });

  it("a client that leaves while its body, too large to buffer, is streamed upstream: logged 499, the sidecar goes on", async () => {
    const h = await s.start({ MAX_BODY_BYTES: "1024" });
    s.upstream.fallback = { status: 200, body: "ok", delayMs: 2000 };
    const socket = connect(h.sidecar.proxyPort, "127.0.0.1");
    socket.on("error", () => {});
    const chunk = "x".repeat(3000); // past MAX_BODY_BYTES: streamed, its head first
    socket.write(
      "POST /provider HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: leaving-client\r\n" +
        `Transfer-Encoding: chunked\r\n\r\n${(3000).toString(16)}\r\n${chunk}\r\n`,
    );
    await until(async () => (await h.metric("retry_sidecar_upstream_in_flight")) === 1);
    socket.destroy(); // before the last chunk
    const line = await completed(h);
    expect(line.status).toBe(499);
    expect(await h.metric("retry_sidecar_upstream_in_flight")).toBe(0);
    // The body's listeners are gone with it: nothing throws when the rest of the message fails.
    s.upstream.fallback = { status: 200, body: "ok" };
    expect((await send(h)).status).toBe(200);
  });
});
