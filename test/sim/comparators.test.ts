import { describe, expect, it } from "vitest";
import { GrpcThrottle, SreAdaptiveGate } from "../../sim/lib/comparators.js";
import type { AttemptOutcome } from "../../src/retry/outcome.js";

// The published schemes the fleet simulator compares the sidecar with (variants grpc-throttle and
// sre-adaptive): their figures are only worth something if the models follow the specifications.

describe("gRPC retry throttling (gRFC A6), as the simulator models it", () => {
  it("allows retries from the start: the bucket begins full", () => {
    expect(new GrpcThrottle(10, 0.1).allows()).toBe(true);
  });

  it("costs one token per failed attempt, first or retry, and allows retries only above half the bucket", () => {
    const throttle = new GrpcThrottle(10, 0.1);
    for (let i = 0; i < 4; i++) throttle.record(i % 2 === 0, true);
    expect(throttle.allows()).toBe(true); // 6 tokens
    throttle.record(false, true);
    expect(throttle.allows()).toBe(false); // 5 tokens: exactly half is not above it
  });

  it("earns back tokenRatio per success", () => {
    const throttle = new GrpcThrottle(10, 0.5);
    for (let i = 0; i < 6; i++) throttle.record(false, true); // 4 tokens
    throttle.record(false, false);
    expect(throttle.allows()).toBe(false); // 4.5
    for (let i = 0; i < 3; i++) throttle.record(true, false);
    expect(throttle.allows()).toBe(true); // 6
  });

  it("never holds more than maxTokens: successes in a healthy spell are not banked", () => {
    const throttle = new GrpcThrottle(10, 1);
    for (let i = 0; i < 20; i++) throttle.record(false, false);
    for (let i = 0; i < 5; i++) throttle.record(false, true);
    expect(throttle.allows()).toBe(false); // 10 - 5, not 30 - 5
  });

  it("never falls below zero: after a long outage, the successes needed are those from empty", () => {
    const throttle = new GrpcThrottle(10, 1);
    for (let i = 0; i < 30; i++) throttle.record(false, true);
    for (let i = 0; i < 6; i++) throttle.record(false, false);
    expect(throttle.allows()).toBe(true); // 0 + 6, not -30 + 6
  });
});

const ok = (status: number): AttemptOutcome => ({ kind: "response", status, retryAfter: undefined });
const timeout: AttemptOutcome = { kind: "failure", failure: "timeout", retryable: true };

describe("client-side adaptive throttling (Google SRE book), as the simulator models it", () => {
  // The defaults, as the sre-adaptive variant uses them: K = 2, a 120-s window in 1-s buckets.

  it("admits every attempt while nothing has been sent: the rejection probability is 0, even for a draw of 0", () => {
    expect(
      new SreAdaptiveGate(
        () => 0,
        () => 0,
      ).admit(true),
    ).toBe(true);
  });

  it("rejects with probability requests / (requests + 1) while nothing is accepted, the rejected counted too", () => {
    let draw = 0;
    const gate = new SreAdaptiveGate(
      () => 0,
      () => draw,
    );
    for (let i = 0; i < 3; i++) gate.admit(true); // rejected or not, each one is a request
    draw = 0.74;
    expect(gate.admit(false)).toBe(false); // 3/4: a draw under it rejects
    draw = 0.8;
    expect(gate.admit(false)).toBe(true); // 4/5: a draw equal to it does not
  });

  it("counts answers under 500 as accepts, K per request keeping the gate open", () => {
    const gate = new SreAdaptiveGate(
      () => 0,
      () => 0,
    );
    for (const status of [200, 404, 200, 201, 204]) {
      expect(gate.admit(true)).toBe(true);
      gate.done(ok(status), 10);
    }
  });

  it("counts neither a 5xx nor a failure as an accept", () => {
    for (const outcome of [ok(500), ok(503), timeout]) {
      let draw = 0;
      const gate = new SreAdaptiveGate(
        () => 0,
        () => draw,
      );
      for (let i = 0; i < 3; i++) {
        gate.admit(true);
        gate.done(outcome, 10);
      }
      draw = 0.7;
      expect(gate.admit(true)).toBe(false); // 3/4 without accepts; 0 had they counted
    }
  });

  it("forgets the requests older than the window", () => {
    let now = 0;
    const gate = new SreAdaptiveGate(
      () => now,
      () => 0.7,
    );
    for (let i = 0; i < 3; i++) gate.admit(true);
    now = 119_000;
    expect(gate.admit(true)).toBe(false); // 3/4: still in the window
    now = 121_000;
    expect(gate.admit(true)).toBe(true); // 1/2: only the one at 119 s is left
  });

  it("forgets everything after a silence longer than the window, however long", () => {
    for (const silence of [121_000, 200_000, 3_600_000]) {
      let now = 0;
      const gate = new SreAdaptiveGate(
        () => now,
        () => 0.5,
      );
      for (let i = 0; i < 10; i++) gate.admit(true);
      now = silence;
      expect(gate.admit(true), `after ${silence} ms`).toBe(true); // nothing left: 0/1
      expect(gate.admit(true), `after ${silence} ms`).toBe(true); // 1/2, a draw equal to it
      expect(gate.admit(true), `after ${silence} ms`).toBe(false); // 2/3: the window counts again
    }
  });

  it("counts an accept when the answer comes, not when its attempt was sent", () => {
    // An attempt may be out for its whole timeout: its accept must stay in the window as long as
    // the requests sent around the time it came.
    let now = 0;
    const gate = new SreAdaptiveGate(
      () => now,
      () => 0.5,
    );
    gate.admit(true);
    now = 60_000;
    gate.done(ok(200), 60_000);
    gate.admit(true);
    gate.admit(true);
    now = 125_000; // the request of 0 s is gone, its accept of 60 s is not
    expect(gate.admit(true)).toBe(true); // (2 - 2 x 1) / 3 = 0, not 2/3
  });
});
