import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { exchange } from "../faults/support/raw-client.js";
import { type Harness, startHarness } from "../support/sidecar-harness.js";
import { CASES, FOLLOW_UP } from "./support/framing-cases.js";
import { type StrictUpstream, startStrictUpstream } from "./support/strict-upstream.js";

// Request smuggling: requests whose framing conflicts or is disguised, written byte for byte to
// the real sidecar in front of an upstream that records what it received and reads it the
// strict way, with "_" in header names read as "-" (as some servers do). For each request the
// verdict is fixed below: either it is refused (a 4xx, and nothing reached the upstream) or it
// is forwarded with one meaning (the upstream read one well-framed request whose body is the one
// the sidecar answered for). Either way a request that follows, on the same client connection
// when it is still open and on the same upstream connection, is read correctly.

let upstream: StrictUpstream;
let harness: Harness;

beforeAll(async () => {
  upstream = await startStrictUpstream();
  // No retries: one client request is at most one upstream request.
  harness = await startHarness({ UPSTREAM_URL: upstream.url, MAX_RETRIES: "0", ROUTES: "/provider" });
});
afterAll(async () => {
  await harness?.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
  upstream.errors.length = 0;
});

describe("conflicting or disguised framing: refused, or forwarded with a single meaning", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const port = harness.sidecar.proxyPort;
    const bytesBefore = upstream.bytes();
    // The case, then a request on the same client connection (Node closes it after a parse error).
    const first = await exchange(port, c.bytes + FOLLOW_UP, { timeoutMs: 5000 });
    expect(first.ended, "the client connection ended").not.toBe("timeout");
    const answer = first.finals[0];
    expect(answer, "an answer").toBeDefined();
    const ofCase = upstream.requests.filter((r) => r.target === "/provider/case");

    if ("refused" in c.verdict) {
      expect(answer?.status).toBe(c.verdict.refused);
      if (c.verdict.reason !== undefined) {
        expect(JSON.parse(answer?.body ?? "{}")).toMatchObject({ reason: c.verdict.reason });
      }
      expect(ofCase, "nothing of the refused request reached the upstream").toEqual([]);
      if (first.finals.length === 1) {
        // The connection was closed after the refusal: none of its bytes went upstream.
        expect(upstream.bytes()).toBe(bytesBefore);
      }
    } else {
      expect(answer?.status).toBe(200);
      expect(answer?.body, "the body the client got back is the one the upstream read").toBe(
        c.verdict.forwarded,
      );
      expect(ofCase).toHaveLength(1);
      expect(ofCase[0]?.body.toString("latin1")).toBe(c.verdict.forwarded);
    }

    // Whatever came after the case on the client connection was read as a request of its own.
    const rest = first.finals.slice(1);
    for (const extra of rest) expect([200, 404]).toContain(extra.status);
    if (rest.length > 0) expect(rest.at(-1)).toMatchObject({ status: 200, body: "next" });

    // A request on a fresh client connection goes over the same upstream connection and is read
    // correctly: the case left that connection in step.
    const again = await exchange(port, FOLLOW_UP, { timeoutMs: 5000 });
    expect(again.finals.map((r) => [r.status, r.body])).toEqual([[200, "next"]]);
    const last = upstream.requests.at(-1);
    expect(last).toMatchObject({ method: "POST", target: "/provider/next" });
    expect(last?.body.toString()).toBe("next");
    if (ofCase[0] !== undefined) {
      expect(last?.connection).toBe(ofCase[0].connection);
      expect(last?.index).toBeGreaterThan(ofCase[0].index);
    }
    expect(upstream.errors, "framing errors seen by the upstream").toEqual([]);
  });
});
