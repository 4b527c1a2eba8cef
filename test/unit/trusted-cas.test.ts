import { execFileSync } from "node:child_process";
import * as tls from "node:tls";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { trustedCas } from "../../src/upstream/trusted-cas.js";

// docs/contract.md, UPSTREAM_CA_FILE: the file's CAs are trusted besides the system's, and Node's
// own roots stay trusted (a `ca` option replaces them unless they are listed).
const FILE = "-----BEGIN CERTIFICATE-----\nfrom the file\n-----END CERTIFICATE-----\n";
const canListSystem = "getCACertificates" in tls;
const source = fileURLToPath(new URL("../../src/upstream/trusted-cas.ts", import.meta.url));

describe("the CAs an https upstream is checked against with UPSTREAM_CA_FILE", () => {
  it("keeps Node's roots and adds the file's", () => {
    const cas = trustedCas(FILE);
    expect(cas.at(-1)).toBe(FILE);
    const all = new Set(cas);
    for (const root of tls.rootCertificates) expect(all.has(root)).toBe(true);
  });

  it.skipIf(!canListSystem)("adds the operating system's store where Node can read it (Node 24)", () => {
    // In a process of its own, without NODE_EXTRA_CA_CERTS (a machine may point it at the system
    // bundle, which would put the system's CAs among Node's defaults anyway). Node 24 runs the
    // TypeScript source as it is.
    const { PATH } = process.env;
    const script = `const tls = await import("node:tls");
      const { trustedCas } = await import(${JSON.stringify(source)});
      const all = new Set(trustedCas("x"));
      const system = tls.getCACertificates("system");
      console.log(JSON.stringify({ system: system.length, missing: system.filter((c) => !all.has(c)).length }));`;
    const out = execFileSync(process.execPath, ["--no-warnings", "--input-type=module", "-e", script], {
      env: { PATH },
      encoding: "utf8",
    });
    const { system, missing } = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
    expect(system).toBeGreaterThan(0);
    expect(missing).toBe(0);
  });
});
