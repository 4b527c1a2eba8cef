import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./procs.js";

/** The request every load generator sends: a small JSON body, like a billing call. */
export const REQUEST_BODY = '{"customer":"c-42","plan":"pro","amount_cents":1999}';

/**
 * wrk script: POST with the body, and a JSON summary line on stdout at the end. With a think time,
 * each connection waits an exponentially distributed delay (mean thinkMs) before each request, so
 * C connections offer about C × 1000/thinkMs req/s as a Poisson stream; see bench/README.md.
 */
function luaScript(thinkMs: number | undefined): string {
  const think =
    thinkMs === undefined
      ? ""
      : `
init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end
delay = function()
  return math.floor(-math.log(1 - math.random()) * ${thinkMs} + 0.5)
end
`;
  return `wrk.method = "POST"
wrk.body = '${REQUEST_BODY}'
wrk.headers["Content-Type"] = "application/json"
${think}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nWRK_JSON {"requests":%d,"durationUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,' ..
    '"non2xx":%d,"timeouts":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;
}

export function writeLua(dir: string, name: string, thinkMs?: number): string {
  const file = join(dir, `${name}.lua`);
  writeFileSync(file, luaScript(thinkMs));
  return file;
}

export interface WrkResult {
  requests: number;
  durationUs: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  non2xx: number;
  timeouts: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
}

/** A closed-loop run: `connections` connections each send the next request as soon as one returns. */
export async function wrk(options: {
  url: string;
  lua: string;
  connections: number;
  seconds: number;
  cpu: string | undefined;
}): Promise<WrkResult> {
  const args = [
    "-t1",
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--timeout",
    "5s",
    "-s",
    options.lua,
    options.url,
  ];
  const out = await run("wrk", args, { cpu: options.cpu, timeoutMs: (options.seconds + 30) * 1000 });
  const line = out.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  return JSON.parse(line.slice("WRK_JSON ".length)) as WrkResult;
}
