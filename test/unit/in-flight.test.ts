import { describe, expect, it } from "vitest";
import { type Abortable, InFlight } from "../../src/proxy/in-flight.js";

function request(log: string[], name: string, inFlight?: InFlight): Abortable & { name: string } {
  return {
    name,
    inFlightSlot: -1,
    abort(reason?: unknown) {
      log.push(`${name}:${String(reason)}`);
      inFlight?.remove(this); // an aborted request ends and leaves the list while abortAll runs
    },
  };
}

describe("the requests in flight", () => {
  it("removing any of them, in any order, keeps the others (and only them); twice is harmless", async () => {
    const inFlight = new InFlight();
    const log: string[] = [];
    const all = ["a", "b", "c", "d", "e"].map((name) => request(log, name, inFlight));
    for (const r of all) inFlight.add(r);
    inFlight.add(all[0] as Abortable); // again: no second entry
    expect(inFlight.size).toBe(5);
    inFlight.remove(all[1] as Abortable); // from the middle
    inFlight.remove(all[1] as Abortable);
    inFlight.remove(all[4] as Abortable); // the last
    inFlight.remove(request(log, "never added"));
    expect(inFlight.size).toBe(3);
    let idle = false;
    const waiting = inFlight.idle().then(() => {
      idle = true;
    });
    inFlight.abortAll("shutdown");
    expect(log.sort()).toEqual(["a:shutdown", "c:shutdown", "d:shutdown"]);
    expect(inFlight.size).toBe(0);
    await waiting;
    expect(idle).toBe(true);
    for (const r of all) expect(r.inFlightSlot).toBe(-1);
  });

  it("idle waits for the last one", async () => {
    const inFlight = new InFlight();
    const log: string[] = [];
    const [a, b] = [request(log, "a"), request(log, "b")];
    inFlight.add(a);
    inFlight.add(b);
    let idle = false;
    const waiting = inFlight.idle().then(() => {
      idle = true;
    });
    inFlight.remove(b);
    await Promise.resolve();
    expect(idle).toBe(false);
    inFlight.remove(a);
    await waiting;
    expect(idle).toBe(true);
  });
});
