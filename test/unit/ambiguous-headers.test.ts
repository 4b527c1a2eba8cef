import { describe, expect, it } from "vitest";
import { findAmbiguousHeader } from "../../src/proxy/ambiguous-headers.js";

// docs/contract.md "Forwarding": a header whose name holds "_" and reads, with "-" for "_", as a
// framing or hop-by-hop header is refused; every other name passes.

const raw = (...names: string[]) => names.flatMap((name) => [name, "v"]);

describe("findAmbiguousHeader", () => {
  // Host, Connection, TE, Trailer and Upgrade hold no "-": no name with "_" reads as one of them.
  it.each([
    "Transfer_Encoding",
    "transfer_encoding",
    "TRANSFER_ENCODING",
    "Content_Length",
    "content_length",
  ])("%s (framing) is refused", (name) => {
    expect(findAmbiguousHeader(raw("host", "accept", name, "x-a"), undefined)).toBe(name);
  });

  it.each(["Keep_Alive", "Proxy_Connection"])("%s (hop-by-hop) is refused", (name) => {
    expect(findAmbiguousHeader(raw(name), undefined)).toBe(name);
  });

  it("a name the Connection header lists counts as hop-by-hop too", () => {
    expect(findAmbiguousHeader(raw("X_Session_Hint"), "keep-alive, x-session-hint")).toBe("X_Session_Hint");
    expect(findAmbiguousHeader(raw("X_Session_Hint"), undefined)).toBeUndefined();
  });

  it.each([
    ["ordinary headers", raw("host", "content-length", "transfer-encoding", "x-request-id")],
    ["underscores that read as ordinary headers", raw("X_Api_Key", "x_request_id", "Idempotency_Key")],
    [
      "names that only contain a framing name",
      raw("X_Content_Length", "Content_Length_X", "Transfer__Encoding"),
    ],
    ["no headers", []],
  ])("%s pass", (_what, headers) => {
    expect(findAmbiguousHeader(headers, undefined)).toBeUndefined();
  });

  it("looks at names only, never at values", () => {
    expect(findAmbiguousHeader(["x-note", "Transfer_Encoding"], undefined)).toBeUndefined();
  });
});
