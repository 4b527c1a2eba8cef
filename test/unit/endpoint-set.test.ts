import { describe, expect, it } from "vitest";
import { EndpointSet } from "../../src/endpoints/endpoint-set.js";
import { recordEvents } from "../support/endpoints.js";

// docs/contract.md "Endpoints": Changes, Ejection and GET /endpoints, on the registry alone with a fake clock.

function setUp(options: { ejectAfter?: number; ejectMs?: number; addresses?: string[] } = {}) {
  const time = { now: Date.UTC(2026, 0, 1) };
  const { events, sink } = recordEvents();
  const set = new EndpointSet(
    {
      host: "billing.test",
      port: 5002,
      ejectAfter: options.ejectAfter ?? 3,
      ejectMs: options.ejectMs ?? 30_000,
    },
    () => time.now,
    () => 0,
    sink,
  );
  set.update(options.addresses ?? ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
  events.length = 0;
  const at = (address: string) => {
    const endpoint = set.endpoints.find((e) => e.address === address);
    if (endpoint === undefined) throw new Error(`no endpoint ${address}`);
    return endpoint;
  };
  const fail = (address: string, times = 1) => {
    for (let i = 0; i < times; i++) set.report(at(address), "retryable");
  };
  const ejected = () => set.endpoints.filter((e) => e.ejectedUntil !== undefined).map((e) => e.address);
  return { set, time, events, at, fail, ejected };
}

describe("a resolution changes the list", () => {
  it("adds new addresses at the end, keeps the state of known ones, reports the change once", () => {
    const { set, events, at, fail } = setUp();
    fail("10.0.0.2");
    set.begin(at("10.0.0.2"));

    const change = set.update(["10.0.0.3", "10.0.0.2", "10.0.0.4"]);

    expect(set.endpoints.map((e) => e.key)).toEqual(["10.0.0.2:5002", "10.0.0.3:5002", "10.0.0.4:5002"]);
    expect(change.removed.map((e) => e.key)).toEqual(["10.0.0.1:5002"]);
    expect(change.removed[0]?.removed).toBe(true);
    expect(at("10.0.0.2")).toMatchObject({ inFlight: 1, consecutiveFailures: 1 });
    expect(events).toEqual([
      { event: "changed", added: ["10.0.0.4:5002"], removed: ["10.0.0.1:5002"], count: 3 },
    ]);
  });

  it("the same addresses in another order: no change, no event", () => {
    const { set, events } = setUp();
    set.update(["10.0.0.3", "10.0.0.1", "10.0.0.2"]);
    expect(events).toEqual([]);
  });

  it("an empty answer keeps the endpoints known", () => {
    const { set, events } = setUp();
    expect(set.update([])).toEqual({ added: [], removed: [] });
    expect(set.endpoints).toHaveLength(3);
    expect(events).toEqual([]);
  });

  it("a removed endpoint is never chosen; its attempts in flight still end on it", () => {
    const { set, at } = setUp();
    const gone = at("10.0.0.1");
    set.begin(gone);
    set.update(["10.0.0.2", "10.0.0.3"]);
    for (let i = 0; i < 20; i++) expect(set.choose()?.address).not.toBe("10.0.0.1");
    set.end(gone);
    expect(gone.inFlight).toBe(0);
  });

  it("begin and end count the attempts in flight", () => {
    const { set, at } = setUp();
    set.begin(at("10.0.0.1"));
    set.begin(at("10.0.0.1"));
    set.end(at("10.0.0.1"));
    expect(at("10.0.0.1").inFlight).toBe(1);
  });
});

describe("ejection: ENDPOINT_EJECT_AFTER consecutive retryable outcomes, for ENDPOINT_EJECT_MS", () => {
  it("ejects at the threshold, with one event; the endpoint gets no attempts", () => {
    const { set, events, fail, ejected } = setUp({ ejectAfter: 3 });
    fail("10.0.0.1", 2);
    expect(ejected()).toEqual([]);
    fail("10.0.0.1");
    expect(ejected()).toEqual(["10.0.0.1"]);
    expect(events).toEqual([{ event: "ejected", endpoint: "10.0.0.1:5002", failures: 3, ejectedMs: 30_000 }]);
    for (let i = 0; i < 20; i++) expect(set.choose()?.address).not.toBe("10.0.0.1");
  });

  it("a non-retryable outcome sets the count to zero", () => {
    const { set, at, fail, ejected } = setUp({ ejectAfter: 3 });
    fail("10.0.0.1", 2);
    set.report(at("10.0.0.1"), "not_retryable");
    expect(at("10.0.0.1").consecutiveFailures).toBe(0);
    fail("10.0.0.1", 2);
    expect(ejected()).toEqual([]);
  });

  it("an attempt cancelled because the client left neither counts nor resets", () => {
    const { set, at, fail, ejected } = setUp({ ejectAfter: 3 });
    fail("10.0.0.1", 2);
    set.report(at("10.0.0.1"), "cancelled");
    expect(at("10.0.0.1").consecutiveFailures).toBe(2);
    fail("10.0.0.1");
    expect(ejected()).toEqual(["10.0.0.1"]);
  });

  it("comes back after ENDPOINT_EJECT_MS with its count at zero, and says so once", () => {
    const { set, time, events, at, fail } = setUp({ ejectAfter: 2, ejectMs: 1000 });
    fail("10.0.0.1", 2);
    events.length = 0;
    time.now += 999;
    expect(set.counts()).toEqual({ active: 2, ejected: 1 });
    expect(events).toEqual([]);
    time.now += 1;
    expect(set.counts()).toEqual({ active: 3, ejected: 0 });
    expect(at("10.0.0.1")).toMatchObject({ ejectedUntil: undefined, consecutiveFailures: 0 });
    set.choose();
    expect(events).toEqual([{ event: "restored", endpoint: "10.0.0.1:5002" }]);
  });

  it("outcomes of attempts that end while it is ejected do not extend the ejection", () => {
    const { time, at, fail, ejected, set } = setUp({ ejectAfter: 2, ejectMs: 1000 });
    fail("10.0.0.1", 2);
    const until = at("10.0.0.1").ejectedUntil;
    time.now += 500;
    fail("10.0.0.1", 5);
    expect(at("10.0.0.1").ejectedUntil).toBe(until);
    time.now += 500;
    set.choose();
    expect(ejected()).toEqual([]);
  });

  it.each([
    // [endpoints, most ejected at once]
    [1, 0],
    [2, 1],
    [3, 1],
    [4, 2],
    [5, 2],
  ])("of %i endpoints at most %i are ejected at once (half, rounded down)", (n, cap) => {
    const addresses = Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}`);
    const { fail, ejected } = setUp({ ejectAfter: 1, addresses });
    for (const address of addresses) fail(address, 3);
    expect(ejected()).toHaveLength(cap);
  });

  it("one held back by the cap is ejected at its next failure once another came back", () => {
    const { time, fail, ejected, set } = setUp({ ejectAfter: 2, ejectMs: 1000 });
    fail("10.0.0.1", 2);
    fail("10.0.0.2", 2);
    expect(ejected()).toEqual(["10.0.0.1"]);
    time.now += 1000;
    set.choose();
    fail("10.0.0.2");
    expect(ejected()).toEqual(["10.0.0.2"]);
  });

  it("an endpoint the cap keeps in rotation gets new connections every ENDPOINT_EJECT_AFTER failures in a row", () => {
    const { set, events, at, fail, ejected } = setUp({ ejectAfter: 3, addresses: ["10.0.0.1"] });
    fail("10.0.0.1", 8);
    expect(ejected()).toEqual([]);
    expect(events).toEqual([
      { event: "stuck", endpoint: "10.0.0.1:5002", failures: 3 },
      { event: "stuck", endpoint: "10.0.0.1:5002", failures: 6 },
    ]);
    // A good answer starts the count again.
    set.report(at("10.0.0.1"), "not_retryable");
    fail("10.0.0.1", 2);
    expect(events).toHaveLength(2);
  });

  it("an endpoint that can be ejected is ejected, not renewed; the one the cap holds back is renewed", () => {
    const { events, fail } = setUp({ ejectAfter: 2, addresses: ["10.0.0.1", "10.0.0.2"] });
    fail("10.0.0.1", 2);
    fail("10.0.0.2", 2);
    expect(events.map((e) => e.event)).toEqual(["ejected", "stuck"]);
  });

  it("ENDPOINT_EJECT_AFTER=0 never ejects", () => {
    const { fail, ejected } = setUp({ ejectAfter: 0 });
    fail("10.0.0.1", 1000);
    expect(ejected()).toEqual([]);
  });

  it("when the list shrinks, the ejections that end soonest come back so the cap still holds", () => {
    const addresses = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];
    const { set, time, events, fail, ejected } = setUp({ ejectAfter: 1, ejectMs: 1000, addresses });
    fail("10.0.0.1");
    time.now += 10;
    fail("10.0.0.2");
    expect(ejected()).toEqual(["10.0.0.1", "10.0.0.2"]);
    events.length = 0;

    set.update(["10.0.0.1", "10.0.0.2"]);

    expect(ejected()).toEqual(["10.0.0.2"]);
    expect(events).toEqual([
      { event: "restored", endpoint: "10.0.0.1:5002" },
      { event: "changed", added: [], removed: ["10.0.0.3:5002", "10.0.0.4:5002"], count: 2 },
    ]);
  });

  it("an ejection that outlives a change of the list still ends on time", () => {
    const { set, time, fail, ejected } = setUp({ ejectAfter: 1, ejectMs: 1000 });
    fail("10.0.0.1");
    time.now += 400;
    set.update(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]); // one added; still ejected
    expect(ejected()).toEqual(["10.0.0.1"]);
    time.now += 599;
    expect(set.counts()).toEqual({ active: 3, ejected: 1 });
    time.now += 1;
    expect(set.counts()).toEqual({ active: 4, ejected: 0 });
  });

  it("two ejections end each at its own time", () => {
    const addresses = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];
    const { set, time, fail, ejected } = setUp({ ejectAfter: 1, ejectMs: 1000, addresses });
    fail("10.0.0.1");
    time.now += 500;
    fail("10.0.0.2");
    time.now += 500;
    expect(set.counts()).toEqual({ active: 3, ejected: 1 }); // the first is back
    time.now += 499;
    expect(ejected()).toEqual(["10.0.0.2"]);
    time.now += 1;
    expect(set.counts()).toEqual({ active: 4, ejected: 0 }); // and the second, on time
  });

  it("when the list shrinks, the ejection that ends soonest comes back, whatever the list's order", () => {
    const addresses = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];
    const { set, time, fail, ejected } = setUp({ ejectAfter: 1, ejectMs: 1000, addresses });
    fail("10.0.0.2");
    time.now += 10;
    fail("10.0.0.1"); // ends later, though first in the list
    set.update(["10.0.0.1", "10.0.0.2"]);
    expect(ejected()).toEqual(["10.0.0.1"]);
  });

  it("a removed endpoint is not ejected by the outcomes of its last attempts", () => {
    const { set, at, events, ejected } = setUp({ ejectAfter: 1 });
    const gone = at("10.0.0.1");
    set.update(["10.0.0.2", "10.0.0.3"]);
    events.length = 0;
    set.report(gone, "retryable");
    expect(ejected()).toEqual([]);
    expect(events).toEqual([]);
  });
});

describe("view: the body of GET /endpoints", () => {
  it("host, port and each endpoint with its state; IPv6 in brackets; ejectedUntil in ISO 8601", () => {
    const { set, time, at, fail } = setUp({
      ejectAfter: 1,
      ejectMs: 30_000,
      addresses: ["10.0.0.1", "fd00::1"],
    });
    set.begin(at("10.0.0.1"));
    fail("fd00::1");
    expect(set.view()).toEqual({
      host: "billing.test",
      port: 5002,
      endpoints: [
        {
          address: "10.0.0.1:5002",
          state: "active",
          inFlight: 1,
          consecutiveFailures: 0,
          ejectedUntil: null,
        },
        {
          address: "[fd00::1]:5002",
          state: "ejected",
          inFlight: 0,
          consecutiveFailures: 1,
          ejectedUntil: new Date(time.now + 30_000).toISOString(),
        },
      ],
    });
    expect(set.view().endpoints[1]?.ejectedUntil).toBe("2026-01-01T00:00:30.000Z");
    time.now += 30_000; // its ejection over, with nothing chosen since
    expect(set.view().endpoints[1]).toMatchObject({ state: "active", ejectedUntil: null });
  });
});
