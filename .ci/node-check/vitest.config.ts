import { defineConfig } from "vitest/config";

// `npx vitest run --config .ci/node-check/vitest.config.ts`: only the Node version check.
export default defineConfig({
  test: { include: [".ci/node-check/*.test.ts"], pool: "threads" },
});
