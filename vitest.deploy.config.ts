import { defineConfig } from "vitest/config";

// `npm run test:deploy`: the deployment checks of test/deploy (manifests, alert rules, dashboard,
// image, production install). They need `npm run build` first, and Debian's prometheus package
// (promtool, prometheus) and kubectl; `npm test` leaves them out.
export default defineConfig({
  test: {
    include: ["test/deploy/**/*.test.ts"],
    // The suites start real processes (the sidecar, Prometheus, npm ci): one file at a time keeps
    // their timing predictable on a 2-core machine.
    pool: "forks",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
