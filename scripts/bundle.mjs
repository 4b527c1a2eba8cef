// The image runs the sidecar as one bundled file: dist/main.js (the TypeScript build) and the
// production packages it imports, bundled by esbuild into OUT/main.js (default bundle/main.js).
// Why: Node then parses and keeps one module instead of ~300, which took 8 MB off the idle working
// set (42 → 34 MB) at no cost in CPU or in memory at saturation (bench/README.md, "Memory as the
// kubelet sees it"). The Dockerfile's build stage runs it; the bench runs the same bundle.
//
//   node scripts/bundle.mjs [OUT_DIR]
import { build } from "esbuild";

const outdir = process.argv[2] ?? "bundle";
await build({
  entryPoints: ["dist/main.js"],
  outfile: `${outdir}/main.js`,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // The CommonJS packages (pino, prom-client) call require() for Node's built-in modules.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  // The packages' licence comments stay, at the end of the file.
  legalComments: "eof",
  logLevel: "warning",
});
