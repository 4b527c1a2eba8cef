import { promises as dns } from "node:dns";
import { afterEach, describe, expect, it, vi } from "vitest";
import { serversResolve } from "../../src/upstream/dns-resolve.js";

// UPSTREAM_DNS_SERVERS asks for A and AAAA apart. "No data" for one family is an answer (the name
// has no record of that type); any other error is a failure. The refresh keeps the endpoints it
// knows either way, but reports a failure and an empty answer differently (docs/contract.md,
// "Endpoints"), so which of the two an answer is must not depend on which family failed.
// The queries are stubbed here; test/integration/endpoint-dns.test.ts asks a real dnsmasq.

type Answer = string[] | string; // addresses, or the error code the query fails with

function stub(v4: Answer, v6: Answer): void {
  const settle = (answer: Answer) =>
    typeof answer === "string"
      ? Promise.reject(Object.assign(new Error(`query failed: ${answer}`), { code: answer }))
      : Promise.resolve(answer);
  vi.spyOn(dns.Resolver.prototype, "resolve4").mockImplementation((() => settle(v4)) as never);
  vi.spyOn(dns.Resolver.prototype, "resolve6").mockImplementation((() => settle(v6)) as never);
}

const resolve = (host = "billing.test") => serversResolve(["127.0.0.1:53"])(host);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("serversResolve: one family's answer and the other's failure", () => {
  it("addresses from either family win over the other family's failure", async () => {
    stub(["127.0.0.2", "127.0.0.2"], dns.SERVFAIL);
    expect(await resolve()).toEqual(["127.0.0.2"]);
    stub(dns.TIMEOUT, ["fd00::7"]);
    expect(await resolve()).toEqual(["fd00::7"]);
  });

  it("no data for both families is an empty answer, not a failure", async () => {
    stub(dns.NODATA, dns.NODATA);
    expect(await resolve()).toEqual([]);
  });

  it.each([
    ["A answers no data, AAAA fails", dns.NODATA, dns.SERVFAIL, dns.SERVFAIL],
    ["A fails, AAAA answers no data", dns.REFUSED, dns.NODATA, dns.REFUSED],
    ["both fail: A's error", dns.TIMEOUT, dns.SERVFAIL, dns.TIMEOUT],
  ])("%s: the failure is what is reported", async (_name, v4, v6, code) => {
    stub(v4, v6);
    await expect(resolve()).rejects.toMatchObject({ code });
  });
});
