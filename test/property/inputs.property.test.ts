import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load-config.js";
import { settings } from "../../src/config/settings.js";
import { SidecarError } from "../../src/errors/sidecar-error.js";
import { checkRequestTarget } from "../../src/proxy/request-target.js";
import { retryLimit } from "../../src/proxy/retry-limit.js";
import { createRouteMatcher } from "../../src/proxy/route-match.js";

// Property tests of every parser of outside input: configuration values, request targets,
// route prefixes, x-retry-max.

const readFile = (): string => {
  throw new Error("no files in this test");
};

/** Loads one variable; returns the effective value or the error line. */
function load(
  variable: string,
  value: string,
  others: Record<string, string> = {},
): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    const config = loadConfig({ ...others, [variable]: value }, readFile) as unknown as Record<
      string,
      unknown
    >;
    const key = settings[variable as keyof typeof settings].key;
    return { ok: true, value: config[key] };
  } catch (error) {
    expect(error).toBeInstanceOf(SidecarError);
    expect((error as SidecarError).code).toBe("CONFIG_INVALID");
    return { ok: false, message: (error as SidecarError).message };
  }
}

const variables = Object.keys(settings);

describe("configuration", () => {
  it("any value of any setting is accepted, or refused with one line naming the variable", () => {
    const value = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.string({ unit: fc.constantFrom(..."0123456789-+.,eE xX/%:"), maxLength: 20 }),
      fc.double().map(String),
      fc.bigInt().map(String),
    );
    fc.assert(
      fc.property(fc.constantFrom(...variables), value, (variable, raw) => {
        const result = load(variable, raw);
        if (!result.ok) {
          // The value is quoted as JSON (UPSTREAM_CA_FILE shows it trimmed): never a raw newline.
          expect(result.message).toMatch(new RegExp(`^invalid ${variable}=".*": expected \\S`));
          expect(result.message).not.toContain("\n");
        }
      }),
      { numRuns: 3000 },
    );
  });

  const integers: Array<[variable: string, min: number, max: number]> = [
    ["PORT", 0, 65535],
    ["ADMIN_PORT", 0, 65535],
    ["MAX_RETRIES", 0, 10],
    ["BACKOFF_BASE_MS", 0, 600_000],
    ["BACKOFF_MAX_MS", 0, 3_600_000],
    ["RETRY_AFTER_MAX_MS", 0, 3_600_000],
    ["PER_TRY_TIMEOUT_MS", 1, 3_600_000],
    ["REQUEST_TIMEOUT_MS", 1, 3_600_000],
    ["MAX_BODY_BYTES", 0, 1_073_741_824],
    ["CIRCUIT_FAILURE_THRESHOLD", 0, 1_000_000],
    ["CIRCUIT_OPEN_MS", 1, 3_600_000],
    ["SHUTDOWN_GRACE_MS", 0, 3_600_000],
  ];

  // The setting each one may not contradict, moved out of the way (the contradictions have their
  // own tests in test/unit/load-config.test.ts).
  const roomFor: Record<string, Record<string, string>> = {
    PORT: { ADMIN_PORT: "0" },
    ADMIN_PORT: { PORT: "0" },
    BACKOFF_BASE_MS: { BACKOFF_MAX_MS: "3600000" },
    PER_TRY_TIMEOUT_MS: { REQUEST_TIMEOUT_MS: "3600000" },
  };

  it.each(integers)(
    "%s: every integer in [%i, %i] is taken as is, every other integer refused",
    (variable, min, max) => {
      fc.assert(
        fc.property(fc.integer({ min, max }), fc.constantFrom("", " "), (n, ws) => {
          expect(load(variable, `${ws}${n}${ws}`, roomFor[variable])).toEqual({ ok: true, value: n });
        }),
      );
      fc.assert(
        fc.property(fc.oneof(fc.integer({ max: min - 1 }), fc.integer({ min: max + 1 })), (n) => {
          expect(load(variable, String(n)).ok).toBe(false);
        }),
      );
      fc.assert(
        fc.property(fc.integer({ min, max }), fc.constantFrom(".5", "e0", "x", "ms", ".0"), (n, suffix) => {
          expect(load(variable, `${n}${suffix}`).ok).toBe(false);
        }),
      );
    },
  );

  it("BACKOFF_JITTER: any fraction in [0, 1] or 'full' (any case); anything above 1 or below 0 refused", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (j) => {
        expect(load("BACKOFF_JITTER", String(j))).toEqual({ ok: true, value: j === 0 ? 0 : j });
      }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ min: 1, minExcluded: true, noNaN: true }),
          fc.double({ max: -Number.MIN_VALUE, noNaN: true }),
        ),
        (j) => {
          expect(load("BACKOFF_JITTER", String(j)).ok).toBe(false);
        },
      ),
    );
    fc.assert(
      fc.property(fc.mixedCase(fc.constant("full")), (word) => {
        expect(load("BACKOFF_JITTER", word)).toEqual({ ok: true, value: "full" });
      }),
    );
  });

  it("RETRY_ON_STATUS: any set of codes from 400 to 599 (any order, spaces, repeats) → sorted, unique", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 400, max: 599 }), { minLength: 1, maxLength: 12 }), (codes) => {
        expect(load("RETRY_ON_STATUS", codes.join(" , "))).toEqual({
          ok: true,
          value: [...new Set(codes)].sort((a, b) => a - b),
        });
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 400, max: 599 }), { maxLength: 5 }),
        fc.oneof(fc.integer({ min: 100, max: 399 }), fc.integer({ min: 600, max: 999 })),
        (codes, outside) => {
          expect(load("RETRY_ON_STATUS", [...codes, outside].join(",")).ok).toBe(false);
        },
      ),
    );
  });

  it("ROUTES: any list of plain path prefixes is taken; one with a dot-segment refuses the whole setting", () => {
    const segment = fc.stringMatching(/^[a-z0-9_-]{1,8}$/);
    const prefix = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `/${s.join("/")}`);
    fc.assert(
      fc.property(fc.array(prefix, { minLength: 1, maxLength: 4 }), (prefixes) => {
        expect(load("ROUTES", prefixes.join(","))).toEqual({ ok: true, value: [...new Set(prefixes)] });
      }),
    );
    fc.assert(
      fc.property(
        fc.array(prefix, { maxLength: 3 }),
        prefix,
        fc.constantFrom("..", "."),
        (ok, base, dots) => {
          expect(load("ROUTES", [...ok, `${base}/${dots}/x`].join(",")).ok).toBe(false);
        },
      ),
    );
  });
});

const own = new Set(["127.0.0.1:8080"]);
const plainSegment = fc
  .stringMatching(/^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,10}$/)
  .filter((s) => s !== "." && s !== "..");

/** "." or "..", spelled in one of the ways an upstream might decode back to a dot-segment. */
const dotSegment = fc
  .tuple(
    fc.constantFrom(".", ".."),
    fc.constantFrom(
      (s: string) => s,
      (s: string) => s.replaceAll(".", "%2e"),
      (s: string) => s.replaceAll(".", "%2E"),
      (s: string) => s.replaceAll(".", "%252e"),
      (s: string) => s.replaceAll(".", "%25252E"),
      (s: string) => s.replaceAll(".", "%c0%ae"),
      (s: string) => `${s};jsessionid=1`,
    ),
  )
  .map(([dots, encode]) => encode(dots));

describe("request target", () => {
  it("a path of plain segments is accepted unchanged, with any query", () => {
    fc.assert(
      fc.property(
        fc.array(plainSegment, { maxLength: 6 }),
        fc.option(fc.stringMatching(/^[A-Za-z0-9=&%./_-]{0,20}$/)),
        (segments, query) => {
          const path = `/provider${segments.map((s) => `/${s}`).join("")}`;
          const target = query === null ? path : `${path}?${query}`;
          expect(checkRequestTarget(target, own)).toEqual({ ok: true, path, pathAndQuery: target });
        },
      ),
    );
  });

  it("a dot-segment anywhere, in any encoding and behind any separator, is refused", () => {
    fc.assert(
      fc.property(
        fc.array(plainSegment, { maxLength: 3 }),
        dotSegment,
        fc.array(plainSegment, { maxLength: 3 }),
        fc.constantFrom("/", "%2f", "%2F", "\\", "%5c", "%252f"),
        (before, dots, after, separator) => {
          const path = `/provider${before.map((s) => `/${s}`).join("")}${separator}${dots}${after.map((s) => `/${s}`).join("")}`;
          expect(checkRequestTarget(path, own).ok).toBe(false);
        },
      ),
    );
  });

  it("any absolute-form target naming another host is refused", () => {
    fc.assert(
      fc.property(fc.domain(), fc.option(fc.integer({ min: 1, max: 65535 })), (host, port) => {
        const authority = port === null ? host : `${host}:${port}`;
        fc.pre(!own.has(authority));
        expect(checkRequestTarget(`http://${authority}/provider`, own).ok).toBe(false);
      }),
    );
  });

  it("route matching: a path matches a prefix only on a segment boundary", () => {
    fc.assert(
      fc.property(
        plainSegment,
        plainSegment,
        fc.array(plainSegment, { maxLength: 3 }),
        (route, extra, rest) => {
          const match = createRouteMatcher([`/${route}`]);
          expect(match(`/${route}${rest.map((s) => `/${s}`).join("")}`)).toBe(`/${route}`);
          expect(match(`/${route}${extra}`)).toBeUndefined();
        },
      ),
    );
  });
});

describe("x-retry-max", () => {
  it("never exceeds MAX_RETRIES and never goes below 0, whatever the header says", () => {
    const header = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.bigInt().map(String),
      fc.double().map(String),
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(header, fc.integer({ min: 0, max: 10 }), (value, max) => {
        const limit = retryLimit(value, max);
        expect(Number.isInteger(limit)).toBe(true);
        expect(limit).toBeGreaterThanOrEqual(0);
        expect(limit).toBeLessThanOrEqual(max);
      }),
      { numRuns: 2000 },
    );
  });

  it("an integer n means min(n, MAX_RETRIES)", () => {
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), fc.integer({ min: 0, max: 10 }), (n, max) => {
        expect(retryLimit(String(n), max)).toBe(Math.min(n, max));
      }),
    );
  });
});
