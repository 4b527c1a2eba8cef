import { describe, expect, it } from "vitest";
import { exchange } from "../faults/support/raw-client.js";
import { useScenario } from "../support/scenario.js";
import type { Harness } from "../support/sidecar-harness.js";

// docs/contract.md "Answers of the sidecar itself": when Node's parser refuses the rest of a
// request the router already holds (a broken chunk, a body too slow to arrive), the client gets
// the sidecar's 400 or 408, and that request is counted and logged with the status it got, under
// its route: not as a client that left (499), and nothing goes upstream.

const s = useScenario({ status: 200, body: "ok" });

const head = (id: string) =>
  `POST /provider HTTP/1.1\r\nhost: x\r\nx-request-id: ${id}\r\ntransfer-encoding: chunked\r\n\r\n`;

async function expectReported(h: Harness, id: string, status: number, reason: string): Promise<void> {
  const line = await h.waitForLog((l) => l.msg === "request completed" && l.reqId === id);
  expect(line.status).toBe(status);
  expect(line.attempts).toBe(0);
  expect(line.retryStopped).toBeUndefined();
  expect(await h.metric("retry_sidecar_requests_total", { route: "/provider", code: String(status) })).toBe(
    1,
  );
  expect(await h.metric("retry_sidecar_requests_total", { code: "499" })).toBe(0);
  expect(await h.metric("retry_sidecar_local_replies_total", { route: "/provider", reason })).toBe(1);
  expect(s.upstream.received).toHaveLength(0);
}

describe("a body Node's parser refuses after the request was routed", () => {
  it("a bad chunk size: 400 with the request's id, reported as 400, not 499", async () => {
    const h = await s.start({ LOG_REQUESTS: "all" });
    const result = await exchange(h.sidecar.proxyPort, "", {
      pieces: [`${head("broken-chunk")}5\r\nhello\r\n`, "zz\r\nhello\r\n0\r\n\r\n"],
      pieceGapMs: 100,
    });
    expect(result.finals.map((r) => r.status)).toEqual([400]);
    expect(result.finals[0]?.headers["x-request-id"]).toBe("broken-chunk");
    expect(JSON.parse(result.finals[0]?.body ?? "").reason).toBe("bad_request");
    await expectReported(h, "broken-chunk", 400, "bad_request");
  });

  it("a bad chunk in a body too large to buffer, already streaming upstream: 400, reported as 400", async () => {
    const h = await s.start({ LOG_REQUESTS: "all", MAX_BODY_BYTES: "1024" });
    s.upstream.fallback = { status: 200, body: "ok", delayMs: 2000 };
    const first = `${(3000).toString(16)}\r\n${"x".repeat(3000)}\r\n`; // past MAX_BODY_BYTES: streamed
    const result = await exchange(h.sidecar.proxyPort, "", {
      pieces: [`${head("broken-stream")}${first}`, "zz\r\nhello\r\n0\r\n\r\n"],
      pieceGapMs: 300,
    });
    expect(result.finals.map((r) => r.status)).toEqual([400]);
    expect(result.finals[0]?.headers["x-request-id"]).toBe("broken-stream");
    const line = await h.waitForLog((l) => l.msg === "request completed" && l.reqId === "broken-stream");
    expect(line.status).toBe(400);
    expect(await h.metric("retry_sidecar_requests_total", { code: "499" })).toBe(0);
    expect(await h.metric("retry_sidecar_requests_total", { route: "/provider", code: "400" })).toBe(1);
  });

  it("a body too slow to arrive: 408, reported as 408, not 499", async () => {
    const h = await s.start({ LOG_REQUESTS: "all", REQUEST_TIMEOUT_MS: "500" });
    const pieces = [`${head("slow-body")}1\r\na\r\n`, ...Array.from({ length: 30 }, () => "1\r\na\r\n")];
    const result = await exchange(h.sidecar.proxyPort, "", { pieces, pieceGapMs: 150, timeoutMs: 6000 });
    expect(result.finals.map((r) => r.status)).toEqual([408]);
    expect(result.finals[0]?.headers["x-request-id"]).toBe("slow-body");
    await expectReported(h, "slow-body", 408, "request_timeout");
  });
});
