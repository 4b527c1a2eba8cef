import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests open real sockets on 127.0.0.1; threads keep them isolated per file.
    pool: "threads",
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
