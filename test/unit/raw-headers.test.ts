import { describe, expect, it } from "vitest";
import { headerValue } from "../../src/upstream/raw-headers.js";

// The upstream's Retry-After is read from its flat header list: by name, whatever the case, never
// from another header that merely has a name of the same length.

describe("headerValue", () => {
  it("finds the first value of a name in any case, and nothing for a name of the same length", () => {
    const list = ["X-Request-Ab", "9", "X-Custom-Ab", "99", "Retry-After", "1", "retry-after", "2"];
    expect(headerValue(list, "retry-after")).toBe("1");
    expect(headerValue(["X-Custom-Ab", "99"], "retry-after")).toBeUndefined();
  });
});
