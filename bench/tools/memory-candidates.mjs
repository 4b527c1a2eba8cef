// Memory settings side by side, each inside its own memory cgroup, started as a container starts:
// which node flags or malloc settings let the sidecar live in a tighter limit without costing
// throughput. Faster and more flexible than `npm run bench` for this one question (any number of
// candidates, each at any limit), and it reads what the bench leaves out: the node binary's pages
// that the process touched during the run (smaps "Referenced" after clear_refs: its hot code).
//
//   npm run build && node scripts/bundle.mjs bench/results/tmp/sidecar-dist
//   node bench/tools/memory-candidates.mjs bench/tools/memory-candidates.json
//
// CONFIG (JSON): { "rounds", "seconds", "warm", "connections", "candidates": [{ "name", "limit",
// "flags": [node flags], "env": {…} }] } and optionally "node" (default: the Node that
// .ci/node24.sh fetches) and "main" (default: bench/results/tmp/sidecar-dist/main.js, the bundle).
//
// Each candidate: its own fresh copy of node + the bundle + package.json (copied inside a scratch
// memory cgroup whose pages are then evicted with memory.force_empty, so the candidate reads them
// for the first time inside its own limit, as in bench/lib/fresh-start.ts), then started inside its
// cgroup on CPU 0, and kept running. An nginx upstream and wrk (1 thread, POST with a small JSON
// body) run on CPU 1. After a warm-up of every candidate, each round loads each candidate in turn
// for `seconds` (interleaved: the machine's noise falls on all alike) and prints one JSON line:
// req/s, CPU µs per request (utime + stime from /proc/PID/stat), the cgroup's largest working set
// (usage − total_inactive_file, sampled every 100 ms) with its anon / active / inactive file split,
// limit hits (memory.failcnt increase), OOM kills, and from /proc/PID/smaps the node binary's
// resident and referenced MB, the brk heap (glibc's main arena), glibc's other arenas, RssAnon and
// the number of threads. At the end, one summary line per candidate (best and median of its rounds).
// A candidate that thrashes slows the next one in the round (it keeps faulting after its load
// stops, on the same CPU): run the ones that collapse separately.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "..", "..");
const cfg = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8"));
const NODE =
  cfg.node ??
  execFileSync("bash", [join(repo, ".ci", "node24.sh")])
    .toString()
    .trim();
const MAIN = cfg.main ?? join(repo, "bench", "results", "tmp", "sidecar-dist", "main.js");
const { rounds = 8, seconds = 5, warm = 3, connections = 32 } = cfg;
const DIR = join(tmpdir(), `memory-candidates-${process.pid}`);
const UPSTREAM_PORT = 19401;
mkdirSync(DIR, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MB = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;
const num = (file) => Number(readFileSync(file, "utf8").trim());
function keyed(file) {
  const out = new Map();
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const [key, value] = line.split(/\s+/);
      if (key) out.set(key.replace(/:$/, ""), Number(value));
    }
  } catch {
    // gone
  }
  return out;
}

// Cgroups below this process's own memory cgroup (as bench/lib/cgroup.ts does).
const own = readFileSync("/proc/self/cgroup", "utf8")
  .split("\n")
  .find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
const PARENT = join("/sys/fs/cgroup/memory", own?.split(":")[2] ?? "/");
const quantity = (q) => {
  const m = /^(\d+)(Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`limit ${q}: use e.g. 128Mi or 4Gi`);
  return Number(m[1]) * (m[2] === "Mi" ? 2 ** 20 : 2 ** 30);
};
function makeCgroup(name, limit) {
  const dir = join(PARENT, name);
  if (existsSync(dir)) rmdirSync(dir);
  mkdirSync(dir);
  writeFileSync(join(dir, "memory.limit_in_bytes"), String(quantity(limit)));
  writeFileSync(join(dir, "memory.swappiness"), "0");
  return dir;
}
const forceEmpty = (dir) => {
  for (let i = 0; i < 3; i++) writeFileSync(join(dir, "memory.force_empty"), "0");
};
async function removeCgroup(dir) {
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      if (error.code === "ENOENT") return;
    }
    await sleep(100);
  }
}
function sample(dir) {
  const stat = keyed(join(dir, "memory.stat"));
  const inactive = stat.get("total_inactive_file");
  return {
    ws: num(join(dir, "memory.usage_in_bytes")) - inactive,
    anon: stat.get("total_rss"),
    active: stat.get("total_active_file"),
    inactive,
  };
}

function run(cmd, args, opts = {}) {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => (code === 0 ? ok(out) : fail(new Error(`${cmd} exited ${code}: ${out}`))));
  });
}
const exited = (child) => new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));

const lua = join(DIR, "post.lua");
writeFileSync(
  lua,
  `wrk.method = "POST"\nwrk.body = '{"customer":"c-42","plan":"pro","amount_cents":1999}'\nwrk.headers["Content-Type"] = "application/json"\n`,
);
async function wrk(port, secs) {
  const out = await run("taskset", [
    ...["-c", "1", "wrk", "-t1", `-c${connections}`, `-d${secs}s`, "-s", lua],
    `http://127.0.0.1:${port}/provider`,
  ]);
  return {
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    errors: /Socket errors: (.*)/.exec(out)?.[1] ?? "",
  };
}
const cpuTicks = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
};
// Resident bytes of the node binary, the brk heap (glibc's main malloc arena) and glibc's other
// arenas (anonymous read-write mappings followed by the inaccessible rest of a 64 MiB reservation,
// as bench/preload/memory-report.ts counts them), and the process's threads.
function mappings(pid, nodePath) {
  const sum = { node: { Rss: 0, Referenced: 0 }, brk: { Rss: 0 }, arena: { Rss: 0 } };
  const maps = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const path = header[4];
      const kind = path === nodePath ? "node" : path === "[heap]" ? "brk" : path === "" ? "anon" : "other";
      const [start, end] = [Number.parseInt(header[1], 16), Number.parseInt(header[2], 16)];
      maps.push({ start, end, perms: header[3], kind, Rss: 0, Referenced: 0 });
      continue;
    }
    const m = /^(Rss|Referenced):\s+(\d+) kB/.exec(line);
    if (m && maps.length) maps[maps.length - 1][m[1]] += Number(m[2]) * 1024;
  }
  const ARENA = 64 * 2 ** 20;
  maps.forEach((m, i) => {
    const next = maps[i + 1];
    const arena =
      m.kind === "anon" &&
      next?.perms.startsWith("---") &&
      next.start === m.end &&
      next.end - m.start === ARENA;
    const kind = arena ? "arena" : m.kind;
    if (!sum[kind]) return;
    sum[kind].Rss += m.Rss;
    if (kind === "node") sum.node.Referenced += m.Referenced;
  });
  const status = keyed(`/proc/${pid}/status`);
  return {
    nodeRss: MB(sum.node.Rss),
    nodeReferenced: MB(sum.node.Referenced),
    brk: MB(sum.brk.Rss),
    arenas: MB(sum.arena.Rss),
    rssAnon: MB(status.get("RssAnon") * 1024),
    threads: status.get("Threads"),
  };
}

let nextPort = 19500;
async function start(candidate) {
  const name = `memory-candidates-${process.pid}-${candidate.name}-${candidate.limit}`.replace(
    /[^\w.-]/g,
    "_",
  );
  const root = join(DIR, name);
  mkdirSync(join(root, "app", "dist"), { recursive: true });
  const scratch = makeCgroup(`${name}-copy`, "64Gi");
  await run("sh", [
    "-c",
    'echo $$ > "$0/cgroup.procs" && cp "$1" "$2/node" && cp "$3" "$2/app/dist/main.js" && cp "$4" "$2/app/"',
    ...[scratch, NODE, root, MAIN, join(repo, "package.json")],
  ]);
  forceEmpty(scratch);
  await removeCgroup(scratch);
  const cgroup = makeCgroup(name, candidate.limit);
  const [port, admin] = [nextPort++, nextPort++];
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: "production",
    ...{ UPSTREAM_URL: `http://127.0.0.1:${UPSTREAM_PORT}`, LISTEN_HOST: "127.0.0.1", PORT: String(port) },
    ...{ ADMIN_HOST: "127.0.0.1", ADMIN_PORT: String(admin), LOG_LEVEL: "info" },
    ...candidate.env,
  };
  const nodePath = join(root, "node");
  const argv = [nodePath, ...(candidate.flags ?? []), "dist/main.js"];
  const child = spawn(
    "taskset",
    ["-c", "0", "sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...argv],
    {
      cwd: join(root, "app"),
      env,
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    const ok = await fetch(`http://127.0.0.1:${admin}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
  }
  await fetch(`http://127.0.0.1:${port}/provider`, { method: "POST", body: "{}" }).then((r) => r.text());
  await sleep(1000);
  return { candidate, root, cgroup, port, child, pid: child.pid, nodePath, idle: sample(cgroup) };
}

async function measure(p, round) {
  writeFileSync(join(p.cgroup, "memory.max_usage_in_bytes"), "0");
  writeFileSync(`/proc/${p.pid}/clear_refs`, "1");
  const failcnt = num(join(p.cgroup, "memory.failcnt"));
  const ticks = cpuTicks(p.pid);
  let top = sample(p.cgroup);
  const timer = setInterval(() => {
    const s = sample(p.cgroup);
    if (s.ws > top.ws) top = s;
  }, 100);
  const w = await wrk(p.port, seconds);
  clearInterval(timer);
  const cpuUs = w.requests ? ((cpuTicks(p.pid) - ticks) * 1e6) / 100 / w.requests : null;
  const line = {
    name: p.candidate.name,
    limit: p.candidate.limit,
    round,
    rps: Math.round(w.rps),
    cpuUs: cpuUs === null ? null : Math.round(cpuUs * 10) / 10,
    errors: w.errors,
    idleWs: MB(p.idle.ws),
    ws: MB(top.ws),
    anon: MB(top.anon),
    activeFile: MB(top.active),
    inactiveFile: MB(top.inactive),
    limitHits: num(join(p.cgroup, "memory.failcnt")) - failcnt,
    oomKills: keyed(join(p.cgroup, "memory.oom_control")).get("oom_kill") ?? 0,
    ...mappings(p.pid, p.nodePath),
  };
  console.log(JSON.stringify(line));
  lines.push(line);
}

// One line per candidate at the end: best and median of the rounds (CPU: least is best; memory:
// the largest round and the median), and the limit hits of all rounds together.
const lines = [];
function summary() {
  const median = (xs) => {
    const s = xs.filter((x) => x !== null).sort((a, b) => a - b);
    return s.length
      ? s.length % 2
        ? s[(s.length - 1) / 2]
        : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
      : null;
  };
  const groups = new Map();
  for (const l of lines) {
    const key = `${l.name} @${l.limit}`;
    groups.set(key, [...(groups.get(key) ?? []), l]);
  }
  console.log(
    "\ncandidate | req/s best (median) | CPU µs/req best (median) | ws MB max (median) | anon max (median) | active file (median) | brk / arenas (median) | threads | limit hits | OOM kills",
  );
  for (const [key, ls] of groups) {
    const col = (k) => ls.map((l) => l[k]);
    const r1 = (x) => (x === null ? "-" : Math.round(x * 10) / 10);
    const cpus = col("cpuUs").filter((x) => x !== null);
    console.log(
      [
        key,
        `${Math.max(...col("rps"))} (${median(col("rps"))})`,
        `${cpus.length ? Math.min(...cpus) : "-"} (${r1(median(cpus))})`,
        `${Math.max(...col("ws"))} (${r1(median(col("ws")))})`,
        `${Math.max(...col("anon"))} (${r1(median(col("anon")))})`,
        `${r1(median(col("activeFile")))}`,
        `${r1(median(col("brk")))} / ${r1(median(col("arenas")))}`,
        `${median(col("threads"))}`,
        `${col("limitHits").reduce((a, b) => a + b, 0)}`,
        `${Math.max(...col("oomKills"))}`,
      ].join(" | "),
    );
  }
}

const upstreamConf = join(DIR, "upstream.conf");
writeFileSync(
  upstreamConf,
  `worker_processes 1; daemon off; master_process on; user root; pid ${DIR}/up.pid; error_log ${DIR}/up.log warn;
events { worker_connections 8192; multi_accept on; }
http { client_body_temp_path ${DIR}/b; proxy_temp_path ${DIR}/p; fastcgi_temp_path ${DIR}/f; uwsgi_temp_path ${DIR}/u;
  scgi_temp_path ${DIR}/s; keepalive_requests 10000000; keepalive_timeout 300s; access_log off;
  server { listen 127.0.0.1:${UPSTREAM_PORT} backlog=4096;
    location / { default_type application/json; return 201 '{"id":12345}'; } } }
`,
);
const upstream = spawn("taskset", ["-c", "1", "nginx", "-p", DIR, "-c", upstreamConf], { stdio: "ignore" });
const running = [];
try {
  await sleep(500);
  for (const candidate of cfg.candidates) running.push(await start(candidate));
  for (const p of running) await wrk(p.port, warm);
  for (let round = 1; round <= rounds; round++) for (const p of running) await measure(p, round);
  summary();
} finally {
  for (const p of running) {
    p.child.kill("SIGTERM");
    await exited(p.child);
    forceEmpty(p.cgroup);
    await removeCgroup(p.cgroup);
  }
  upstream.kill("SIGTERM");
  await exited(upstream);
  rmSync(DIR, { recursive: true, force: true });
}
