import { describe, expect, it } from "vitest";
import type { App } from "../../bench/fleet/app-client.js";
import { warmUp } from "../../bench/fleet/warm-up.js";

describe("the fleet check's warm-up", () => {
  it("has every pod's app send its requests, the pods in turn, and waits for the answers", async () => {
    const sent: string[] = [];
    let answered = 0;
    const app = (pod: number): App => ({
      call: async (name) => {
        sent.push(`${pod}:${name}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        answered++;
        return { status: 200 };
      },
      close: () => {},
    });
    await warmUp([app(0), app(1), app(2)], 2, 1000);
    expect(sent.map((s) => s.split(":")[0])).toEqual(["0", "1", "2", "0", "1", "2"]);
    expect(answered).toBe(6);
  });
});
