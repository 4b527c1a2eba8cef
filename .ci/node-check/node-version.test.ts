/**
 * Run by .ci/run before each `npm test`: proves which Node the suite really runs on. vitest's
 * workers are threads of its own process, and the tests that start the sidecar spawn
 * process.execPath, so both must be the Node CI asked for (EXPECT_NODE_MAJOR), not just the
 * first `node` on PATH.
 */
import { execFileSync } from "node:child_process";
import { expect, test } from "vitest";

test("vitest and the processes the tests spawn run on the expected Node", () => {
  const spawned = execFileSync(process.execPath, ["-p", "process.version"]).toString().trim();
  const onPath = execFileSync("node", ["-p", "process.version"]).toString().trim();
  process.stdout.write(
    `node-check: vitest on ${process.version} (${process.execPath}); spawned children ${spawned}; "node" on PATH ${onPath}\n`,
  );
  const expected = process.env.EXPECT_NODE_MAJOR;
  if (expected) expect(process.version.split(".")[0]).toBe(`v${expected}`);
  expect(spawned).toBe(process.version);
  expect(onPath).toBe(process.version);
});
