import { afterAll, beforeAll, expect, it } from "vitest";
import { exchange } from "../faults/support/raw-client.js";
import { answer, type RawUpstream, startRawUpstream } from "../faults/support/raw-upstream.js";
import { type Harness, startHarness } from "../support/sidecar-harness.js";

// A client gets min(10 s, 2 x REQUEST_TIMEOUT_MS) for its request headers (docs/architecture.md,
// hostile input). hostile-requests.test.ts runs with a short deadline, where the 2 x deadline
// side decides; here the deadline is the default (20 s), so only the 10-s headers limit stops a
// slow-loris client: without it, it would hold its socket for the whole request limit (40 s).

let upstream: RawUpstream;
let harness: Harness;

beforeAll(async () => {
  upstream = await startRawUpstream(answer(200, "ok"));
  harness = await startHarness({ UPSTREAM_URL: upstream.url });
});
afterAll(async () => {
  await harness.close();
  await upstream.close();
});

it("slow-loris headers with the default deadline: 408 and closed after the 10-s headers limit", async () => {
  // One header line every 400 ms, never finished: 60 lines would take 24 s.
  const pieces = [
    "GET /provider HTTP/1.1\r\nhost: x\r\n",
    ...Array.from({ length: 60 }, (_, i) => `x-slow-${i}: 1\r\n`),
  ];
  const result = await exchange(harness.sidecar.proxyPort, "", {
    pieces,
    pieceGapMs: 400,
    timeoutMs: 20_000,
  });
  expect(result.finals.map((r) => r.status)).toEqual([408]);
  expect(result.ended).toBe("end");
  // The limit is 10 s, checked every second; a loaded machine adds to the upper bound only.
  expect(result.ms).toBeGreaterThanOrEqual(9_900);
  expect(result.ms).toBeLessThan(14_000);
  expect(upstream.requests).toHaveLength(0);
}, 30_000);
