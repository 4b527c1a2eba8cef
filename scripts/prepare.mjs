// npm runs this after `npm ci` / `npm install` in a clone (the "prepare" script), so that
// `node dist/main.js` and `npx retry-sidecar` work without a separate `npm run build`.
// A production install (`npm ci --omit=dev`) has no TypeScript compiler: there is nothing to build
// with, and the build comes from elsewhere (the image's build stage copies dist/ in), so it skips.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
try {
  require.resolve("typescript/bin/tsc");
} catch {
  console.log("retry-sidecar prepare: typescript is not installed (production install), build skipped");
  process.exit(0);
}
// `npm run build`, with the npm that runs this script: the one definition of the build.
const npm = process.env.npm_execpath;
const build = npm
  ? spawnSync(process.execPath, [npm, "run", "build"], { stdio: "inherit" })
  : spawnSync("npm", ["run", "build"], { stdio: "inherit" });
process.exit(build.status ?? 1);
