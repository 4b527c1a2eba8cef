import { defineConfig } from "vitest/config";

// `npm run test:soak` (.ci/steps/soak.sh): the long suites of test/soak — a 20 s load run, SIGTERM
// under load, an upstream restarted mid-load. They start the real sidecar process and measure
// it, so one file at a time: parallel files would share the CPU and skew each other's figures.
export default defineConfig({
  test: {
    include: ["test/soak/**/*.test.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
