import { describe, expect, it } from "vitest";
import { classifyTransportError } from "../../src/upstream/upstream-errors.js";

// How a transport error becomes the retry policy's failure kind: "no connection was made" is a
// connect_error (retried, even for a POST without a key), a TLS refusal is final, anything else
// is a reset. undici wraps the socket's error, so the innermost code decides.

function coded(message: string, code: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

describe("classifyTransportError", () => {
  it("takes the innermost code: undici's socket error around ECONNRESET is a reset", () => {
    const error = coded("other side closed", "UND_ERR_SOCKET", coded("read ECONNRESET", "ECONNRESET"));
    const { failure, retryable, error: mapped } = classifyTransportError(error);
    expect([failure, retryable]).toEqual(["reset", true]);
    expect(mapped.code).toBe("UPSTREAM_RESET");
    expect(mapped.message).toBe("upstream connection failed (ECONNRESET): other side closed");
    expect(mapped.cause).toBe(error);
  });

  it("a refused connection, however deep, and the first of several (both address families) is a connect_error", () => {
    const refused = coded("connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED");
    expect(classifyTransportError(coded("fetch failed", "UND_ERR_SOCKET", refused))).toMatchObject({
      failure: "connect_error",
      retryable: true,
    });
    const both = Object.assign(new AggregateError([refused, coded("v6", "EADDRNOTAVAIL")], "all failed"), {
      code: "ECONNREFUSED",
    });
    const mapped = classifyTransportError(both);
    expect(mapped.failure).toBe("connect_error");
    expect(mapped.error.message).toBe("cannot connect to upstream (ECONNREFUSED)");
  });

  it("a certificate the sidecar does not trust is final", () => {
    const mapped = classifyTransportError(coded("self-signed certificate", "DEPTH_ZERO_SELF_SIGNED_CERT"));
    expect([mapped.failure, mapped.retryable, mapped.error.code]).toEqual([
      "connect_error",
      false,
      "UPSTREAM_TLS",
    ]);
  });

  it("a chain of causes that loops back ends the walk, at the code of the error itself", () => {
    const outer = coded("outer", "UND_ERR_SOCKET");
    const inner = coded("inner", "ECONNREFUSED", outer);
    (outer as { cause?: unknown }).cause = inner;
    expect(classifyTransportError(outer).failure).toBe("reset");
    expect(classifyTransportError(outer).error.message).toBe(
      "upstream connection failed (UND_ERR_SOCKET): outer",
    );
  });

  it("something thrown that is not an Error is a reset, named as such", () => {
    const mapped = classifyTransportError("socket hang up");
    expect([mapped.failure, mapped.retryable]).toEqual(["reset", true]);
    expect(mapped.error.message).toBe("upstream connection failed (reset): socket hang up");
  });
});
