import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // test/deploy runs with `npm run test:deploy` (vitest.deploy.config.ts): it needs a build and
    // Debian packages that a plain `npm test` must not depend on.
    // test/soak (load, shutdown and restart under load: ~1 min) runs with `npm run test:soak`.
    exclude: [...configDefaults.exclude, "test/deploy/**", "test/soak/**"],
    // Integration tests open real sockets on 127.0.0.1; threads keep them isolated per file.
    pool: "threads",
    // Most integration tests wait on sockets and real (short) backoffs, not on the CPU: four
    // workers overlap those waits on a 2-core machine (71 s with the default two, ~30 s with four).
    maxWorkers: 4,
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
