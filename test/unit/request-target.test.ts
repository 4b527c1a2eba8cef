import { describe, expect, it } from "vitest";
import { checkRequestTarget } from "../../src/proxy/request-target.js";
import { createRouteMatcher } from "../../src/proxy/route-match.js";

const own = new Set(["127.0.0.1:8080", "localhost:8080"]);

describe("request target", () => {
  it.each([
    ["/provider", "/provider", "/provider"],
    ["/provider/42?x=1&y=%20", "/provider/42", "/provider/42?x=1&y=%20"],
    ["/provider/a.b/..c/...", "/provider/a.b/..c/...", "/provider/a.b/..c/..."],
    ["/provider?next=/../x", "/provider", "/provider?next=/../x"], // dots in the query are data
    ["http://127.0.0.1:8080/provider?x=1", "/provider", "/provider?x=1"],
    ["http://LOCALHOST:8080", "/", "/"],
  ])("accepts %j", (raw, path, pathAndQuery) => {
    expect(checkRequestTarget(raw, own)).toEqual({ ok: true, path, pathAndQuery });
  });

  it.each([
    "/provider/../admin",
    "/provider/..",
    "/provider/./x",
    "/provider/%2e%2e/admin",
    "/provider/%2E%2e/admin",
    "/provider/.%2e/admin",
    "/provider/%2e/x",
    "/provider/%252e%252e/admin",
    "/provider/..%2fadmin",
    "/provider/..%5cadmin",
    "/provider\\..\\admin",
    "/provider/%2e%2e%2",
    "http://billing.evil:80/provider",
    "http://127.0.0.1:9999/provider",
    "*",
    "billing:443",
    "provider",
  ])("refuses %j", (raw) => {
    expect(checkRequestTarget(raw, own).ok).toBe(false);
  });
});

describe("route matching", () => {
  const match = createRouteMatcher(["/provider", "/provider/v2", "/invoice"]);
  it.each([
    ["/provider", "/provider"],
    ["/provider/42", "/provider"],
    ["/provider/v2/7", "/provider/v2"],
    ["/invoice", "/invoice"],
    ["/providers", undefined],
    ["/provider-x", undefined],
    ["/", undefined],
    ["/invoices/1", undefined],
  ])("%s → %s", (path, route) => {
    expect(match(path)).toBe(route);
  });

  it("/ forwards every path", () => {
    expect(createRouteMatcher(["/"])("/anything/at/all")).toBe("/");
  });
});

describe("request target encodings", () => {
  it("accepts percent-encoded bytes that are not UTF-8 (the upstream decides what they mean)", () => {
    expect(checkRequestTarget("/provider/caf%E9", own).ok).toBe(true);
  });

  it("accepts an encoded percent sign, and data that only looks like a dot after two decodes is refused", () => {
    expect(checkRequestTarget("/provider/100%25", own).ok).toBe(true);
    expect(checkRequestTarget("/provider/100%25zz", own).ok).toBe(true);
    expect(checkRequestTarget("/provider/%25%32%65%25%32%65/x", own).ok).toBe(false); // %2e%2e after one decode
  });

  it("decodes up to four times: a path still encoded after that is refused", () => {
    expect(checkRequestTarget("/provider/%252541", own).ok).toBe(true); // "A" after three decodes
    expect(checkRequestTarget("/provider/%25252541", own)).toEqual({
      ok: false,
      message: "path is percent-encoded too many times",
      path: "/provider/%25252541",
    });
  });

  it.each([
    ["/provider/%2e%2e/x?token=abc", "/provider/%2e%2e/x"],
    ["/provider/%zz", "/provider/%zz"],
    ["http://u:p@billing.evil:80/provider/x?y=1", "/provider/x"], // never the authority (credentials)
    ["http://127.0.0.1:8080/provider/../x?y", "/provider/../x"],
    ["*", "*"],
  ])("a refused %j is reported with the path as received, without query: %j", (raw, path) => {
    expect(checkRequestTarget(raw, own)).toMatchObject({ ok: false, path });
  });
});
