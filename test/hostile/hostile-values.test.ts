import { afterEach, describe, expect, it } from "vitest";
import { exchange, rawRequest } from "../faults/support/raw-client.js";
import { answer, type RawUpstream, startRawUpstream } from "../faults/support/raw-upstream.js";
import { type Harness, startHarness } from "../support/sidecar-harness.js";

// Values an upstream or a client controls, chosen to hurt: Retry-After that is garbage, negative,
// astronomically large or in the past, and x-retry-max abuse. None may make the sidecar wait
// longer than its limits, retry more than MAX_RETRIES, or fail.

const ENV = {
  MAX_RETRIES: "2",
  BACKOFF_BASE_MS: "10",
  BACKOFF_JITTER: "0",
  RETRY_AFTER_MAX_MS: "2000",
  REQUEST_TIMEOUT_MS: "3000",
  CIRCUIT_FAILURE_THRESHOLD: "0",
};

let upstream: RawUpstream;
let harness: Harness;

async function start(status: number, headers: Record<string, string>): Promise<void> {
  upstream = await startRawUpstream(answer(status, "busy", headers));
  harness = await startHarness({ ...ENV, UPSTREAM_URL: upstream.url });
}

afterEach(async () => {
  await harness?.close();
  await upstream?.close();
});

const skipped = (reason: string) =>
  harness.metric("retry_sidecar_retries_skipped_total", { route: "/provider", reason });

describe("Retry-After the sidecar must not trust", () => {
  it.each([
    ["garbage", "soon"],
    ["negative", "-5"],
    ["exponent", "1e3"],
    ["hexadecimal", "0x10"],
    ["fraction", "1.5"],
    ["an impossible date", "Wed, 99 Foo 2015 07:28:00 GMT"],
    ["a date in the wrong format", "2015-10-21T07:28:00Z"],
    ["a date in the past (means now)", "Wed, 21 Oct 2015 07:28:00 GMT"],
  ])("%s (%j): normal backoff, all 3 attempts, the 503 passed through", async (_name, value) => {
    await start(503, { "retry-after": value });

    const result = await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/1"));

    expect(result.finals.map((r) => [r.status, r.body])).toEqual([[503, "busy"]]);
    expect(result.finals[0]?.headers["retry-after"]).toBe(value);
    expect(result.finals[0]?.headers["x-attempt-count"]).toBe("3");
    expect(upstream.requests).toHaveLength(3);
    expect(result.ms).toBeLessThan(1000); // backoff is 10 + 20 ms; nothing waited on the header
    expect(await skipped("retry_after_too_long")).toBe(0);
  });

  it.each([
    ["longer than RETRY_AFTER_MAX_MS", "3"],
    ["a year", String(365 * 24 * 3600)],
    ["beyond a double", "9".repeat(400)],
    ["a date far in the future", "Fri, 31 Dec 9999 23:59:59 GMT"],
  ])("%s: final at once, the client gets it with its Retry-After", async (_name, value) => {
    await start(503, { "retry-after": value });

    const result = await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/1"));

    expect(result.finals.map((r) => r.status)).toEqual([503]);
    expect(result.finals[0]?.headers["retry-after"]).toBe(value);
    expect(upstream.requests).toHaveLength(1);
    expect(result.ms).toBeLessThan(1000);
    expect(await skipped("retry_after_too_long")).toBe(1);
  });

  it("a valid Retry-After that fits in RETRY_AFTER_MAX_MS but not in the deadline: final, reason deadline", async () => {
    upstream = await startRawUpstream(answer(503, "busy", { "retry-after": "2" }));
    harness = await startHarness({ ...ENV, UPSTREAM_URL: upstream.url, REQUEST_TIMEOUT_MS: "1500" });

    const result = await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/1"));

    expect(result.finals.map((r) => r.status)).toEqual([503]);
    expect(upstream.requests).toHaveLength(1);
    expect(await skipped("deadline")).toBe(1);
  });
});

describe("x-retry-max abuse", () => {
  it.each([
    ["0", 1],
    ["1", 2],
    [" 1 ", 2],
    ["2", 3],
    ["3", 3],
    ["99", 3],
    ["99999999999999999999999999", 3],
    ["-1", 3],
    ["1.5", 3],
    ["1e1", 3],
    ["0x1", 3],
    ["abc", 3],
    ["", 3],
    ["1, 0", 3],
  ])("x-retry-max: %j → %i attempts at most, never above MAX_RETRIES + 1", async (value, expected) => {
    await start(503, {});

    const result = await exchange(
      harness.sidecar.proxyPort,
      rawRequest("GET", "/provider/1", { "x-retry-max": value }),
    );

    expect(result.finals.map((r) => r.status)).toEqual([503]);
    expect(result.finals[0]?.headers["x-attempt-count"]).toBe(String(expected));
    expect(upstream.requests).toHaveLength(expected);
    for (const request of upstream.requests) expect(request.headers["x-retry-max"]).toBeUndefined();
  });

  it("two x-retry-max headers (0 and 2) count as one non-integer value: MAX_RETRIES applies", async () => {
    await start(503, {});
    const bytes = rawRequest("GET", "/provider/1", { "x-retry-max": "0" }).replace(
      "x-retry-max: 0\r\n",
      "x-retry-max: 0\r\nx-retry-max: 2\r\n",
    );

    const result = await exchange(harness.sidecar.proxyPort, bytes);

    expect(result.finals[0]?.headers["x-attempt-count"]).toBe("3");
    expect(upstream.requests).toHaveLength(3);
  });

  it("a client-sent x-attempt-count is replaced by the sidecar's own", async () => {
    await start(200, {});

    await exchange(harness.sidecar.proxyPort, rawRequest("GET", "/provider/1", { "x-attempt-count": "7" }));

    expect(upstream.requests.map((r) => r.headers["x-attempt-count"])).toEqual(["1"]);
  });
});
