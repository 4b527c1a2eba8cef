import { describe, expect, it } from "vitest";
import { ClientGone } from "../../src/proxy/client-gone.js";

// The request's "client gone" switch stands in for an AbortSignal (the retry loop's sleep, the
// attempts): it must behave like one where they use it, or a wait or an attempt would outlive
// its client, or a listener would run twice.

describe("ClientGone, the request's AbortSignal", () => {
  it("runs each abort listener once, objects and functions, and onabort, with the reason set", () => {
    const gone = new ClientGone();
    const calls: string[] = [];
    const fn = () => calls.push(`fn ${String(gone.signal.reason)}`);
    const object = { handleEvent: (event: Event) => calls.push(`object ${event.type}`) };
    gone.signal.addEventListener("abort", fn);
    gone.signal.addEventListener("abort", fn); // the same listener twice is one listener
    gone.signal.addEventListener("abort", object);
    gone.signal.onabort = (event) => calls.push(`onabort ${event.type}`);
    expect(gone.signal.aborted).toBe(false);
    gone.abort("left");
    expect(gone.signal.aborted).toBe(true);
    expect(calls).toEqual(["onabort abort", "fn left", "object abort"]);
    gone.abort("again"); // a second abort changes nothing and runs nothing
    expect(gone.signal.reason).toBe("left");
    expect(calls).toHaveLength(3);
    expect(() => gone.signal.throwIfAborted()).toThrow("left");
  });

  it("ignores other event types, a null listener, and listeners added after the abort", () => {
    const gone = new ClientGone();
    const calls: string[] = [];
    gone.signal.addEventListener("close", () => calls.push("close"));
    gone.addEventListener("abort", null);
    gone.abort();
    gone.signal.addEventListener("abort", () => calls.push("late"));
    gone.abort();
    expect(calls).toEqual([]);
    expect((gone.signal.reason as DOMException).name).toBe("AbortError");
  });

  it("a removed listener does not run; removing one never added, or of another type, keeps the rest", () => {
    const gone = new ClientGone();
    const calls: string[] = [];
    const kept = () => calls.push("kept");
    const removed = () => calls.push("removed");
    gone.signal.removeEventListener("abort", kept); // nothing added yet
    gone.signal.addEventListener("abort", kept);
    gone.signal.addEventListener("abort", removed);
    gone.signal.removeEventListener("abort", () => {}); // never added
    gone.signal.removeEventListener("close", kept); // another type
    gone.removeEventListener("abort", null);
    gone.signal.removeEventListener("abort", removed);
    gone.abort();
    expect(calls).toEqual(["kept"]);
  });
});
