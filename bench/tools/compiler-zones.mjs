// How much memory V8's compilers hold in their zones (the arenas a compile job allocates its graph
// and code in, malloc'd, freed when the job ends) while the sidecar warms up under load: the peak
// of all zones alive at once, and by compiler. Zone memory is what grows glibc's malloc heaps during
// warm-up; whatever the heap grew to stays resident (fragmented) after the zones are freed.
//
//   node scripts/bundle.mjs bench/results/tmp/sidecar-dist
//   node bench/tools/compiler-zones.mjs [NODE] [node flags…]
//
// NODE defaults to the Node that .ci/node24.sh fetches; e.g. `node bench/tools/compiler-zones.mjs
// "$(command -v node)"` for the system's Node 20, or `… "$(bash .ci/node24.sh)" --no-maglev`.
// Starts the bundle with --trace-zone-stats (V8 prints every change of ≥ 1 MB of zone memory as a
// JSON line on stdout) behind an nginx upstream on CPU 1, loads it with wrk (-c32, POST, CPU 1) for
// 10 s, and prints one JSON line: the peak of zone memory alive at once and what it was made of,
// each compiler's own peak, and the process's brk heap / RssAnon at the end (/proc/PID/smaps).
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "..", "..");
const [nodeArg, ...flags] = process.argv.slice(2);
const NODE =
  nodeArg ||
  execFileSync("bash", [join(repo, ".ci", "node24.sh")])
    .toString()
    .trim();
const MAIN = join(repo, "bench", "results", "tmp", "sidecar-dist", "main.js");
const DIR = join(tmpdir(), `compiler-zones-${process.pid}`);
const [UPSTREAM, PORT, ADMIN] = [19601, 19602, 19603];
mkdirSync(DIR, { recursive: true });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MB = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;
const exited = (child) => new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));

// Which compiler a zone belongs to, from V8's zone names.
function compiler(zone) {
  if (/maglev/i.test(zone)) return "maglev";
  if (
    /^(V8\.TF|pipeline|graph-zone|register-allocation|instruction-zone|codegen-zone|turboshaft|wasm)/i.test(
      zone,
    )
  )
    return "turbofan";
  if (/baseline|sparkplug/i.test(zone)) return "sparkplug";
  if (/parse|ast|compile|preparse|scope/i.test(zone)) return "parser and bytecode";
  return "other";
}

writeFileSync(
  join(DIR, "post.lua"),
  `wrk.method = "POST"\nwrk.body = '{"customer":"c-42","plan":"pro","amount_cents":1999}'\nwrk.headers["Content-Type"] = "application/json"\n`,
);
writeFileSync(
  join(DIR, "up.conf"),
  `worker_processes 1; daemon off; master_process on; user root; pid ${DIR}/up.pid; error_log ${DIR}/up.log warn;
events { worker_connections 8192; }
http { client_body_temp_path ${DIR}/b; proxy_temp_path ${DIR}/p; fastcgi_temp_path ${DIR}/f; uwsgi_temp_path ${DIR}/u;
  scgi_temp_path ${DIR}/s; keepalive_requests 10000000; access_log off;
  server { listen 127.0.0.1:${UPSTREAM}; location / { default_type application/json; return 201 '{"id":12345}'; } } }
`,
);
const upstream = spawn("taskset", ["-c", "1", "nginx", "-p", DIR, "-c", join(DIR, "up.conf")], {
  stdio: "ignore",
});
const env = {
  PATH: process.env.PATH,
  NODE_ENV: "production",
  ...{ UPSTREAM_URL: `http://127.0.0.1:${UPSTREAM}`, LISTEN_HOST: "127.0.0.1", PORT: String(PORT) },
  ...{ ADMIN_HOST: "127.0.0.1", ADMIN_PORT: String(ADMIN), LOG_LEVEL: "warn" },
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "131072",
};
const sidecar = spawn("taskset", ["-c", "0", NODE, "--trace-zone-stats", ...flags, MAIN], {
  env,
  stdio: ["ignore", "pipe", "inherit"],
});
let out = "";
sidecar.stdout.on("data", (d) => (out += d));
try {
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    if (
      await fetch(`http://127.0.0.1:${ADMIN}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
  }
  execFileSync("taskset", [
    "-c",
    "1",
    "wrk",
    "-t1",
    "-c32",
    "-d10s",
    "-s",
    join(DIR, "post.lua"),
    `http://127.0.0.1:${PORT}/provider`,
  ]);
  await sleep(500);
  const status = readFileSync(`/proc/${sidecar.pid}/status`, "utf8");
  const smaps = readFileSync(`/proc/${sidecar.pid}/smaps`, "utf8");
  const brk = /\[heap\]\n(?:.*\n)*?Rss:\s+(\d+) kB/.exec(smaps)?.[1];
  let peak = { allocated: 0, zones: [] };
  const byCompiler = {};
  for (const line of out.split("\n")) {
    if (!line.includes('"v8-zone-trace"')) continue;
    const { stats } = JSON.parse(line);
    if (stats.allocated > peak.allocated) peak = stats;
    const now = {};
    for (const z of stats.zones) now[compiler(z.name)] = (now[compiler(z.name)] ?? 0) + z.allocated;
    for (const [k, v] of Object.entries(now)) byCompiler[k] = Math.max(byCompiler[k] ?? 0, v);
  }
  const atPeak = {};
  for (const z of peak.zones) atPeak[compiler(z.name)] = (atPeak[compiler(z.name)] ?? 0) + z.allocated;
  console.log(
    JSON.stringify({
      node: execFileSync(NODE, ["--version"]).toString().trim(),
      flags,
      peakZonesMB: MB(peak.allocated),
      atPeakMB: Object.fromEntries(Object.entries(atPeak).map(([k, v]) => [k, MB(v)])),
      zonesAtPeak: peak.zones.length,
      largestZonesAtPeak: peak.zones
        .sort((a, b) => b.allocated - a.allocated)
        .slice(0, 3)
        .map((z) => `${z.name} ${MB(z.allocated)}`),
      peakByCompilerMB: Object.fromEntries(Object.entries(byCompiler).map(([k, v]) => [k, MB(v)])),
      brkMB: MB(Number(brk ?? 0) * 1024),
      rssAnonMB: MB(Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024),
    }),
  );
} finally {
  sidecar.kill("SIGTERM");
  await exited(sidecar);
  upstream.kill("SIGTERM");
  await exited(upstream);
  rmSync(DIR, { recursive: true, force: true });
}
