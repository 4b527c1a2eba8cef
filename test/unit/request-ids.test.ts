import { describe, expect, it } from "vitest";
import { randomRequestId } from "../../src/runtime/request-ids.js";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// The very first id of the process (each test file has its own module), before any batch was drawn.
const first = randomRequestId();

describe("randomRequestId", () => {
  it("makes version-4 UUIDs, all different, across several refills of its random batch", () => {
    const ids = Array.from({ length: 1000 }, () => randomRequestId());
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("the first id is drawn from the first batch like the rest (not read from before it)", () => {
    expect(first).toMatch(UUID_V4);
    expect(new Set(first.replaceAll("-", "")).size).toBeGreaterThan(5); // the zero id has 3: 0, 4, 8
  });

  it("uses every hex digit in the random positions (not a constant or a counter)", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) for (const c of randomRequestId().slice(0, 8)) seen.add(c);
    expect(seen.size).toBe(16);
  });
});
