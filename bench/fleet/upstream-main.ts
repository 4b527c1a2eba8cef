/**
 * The fleet check's billing as its own process: `node upstream-main.js '<json {model, seed}>'`.
 * Prints one JSON line (where to send, and its control port) once listening. Control, on its own
 * port: `POST /start` when the load starts (the model's timeline begins), `GET /stats` for the
 * attempts it received and how late its timers ran.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { raisePriority } from "./priority.js";
import type { UpstreamModel } from "./scenarios.js";
import { StallWatch } from "./stall-watch.js";
import { AttemptCounter, startModel } from "./upstream-servers.js";

async function main(): Promise<void> {
  const { model, seed } = JSON.parse(process.argv[2] ?? "{}") as { model: UpstreamModel; seed: number };
  raisePriority();
  const counter = new AttemptCounter();
  // How late its timers ran: on a machine too busy to run them on time, billing's capacity and
  // latency are not the model's any more, and the report says so.
  const stalls = new StallWatch();
  const upstream = await startModel(model, counter, seed);
  const control = createServer((req, res) => {
    if (req.method === "POST" && req.url === "/start") {
      counter.startedAt = performance.now();
      stalls.start();
      upstream.start();
      res.end("{}");
      return;
    }
    const stats = {
      attempts: counter.total,
      perSecond: Array.from(counter.perSecond, (n) => n ?? 0),
      perInstance: counter.perInstance,
      loopDelayMaxMs: stalls.maxMs(),
      stallSeconds: stalls.secondsOver(),
      ...upstream.extra(),
    };
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(stats));
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
  const shutdown = async () => {
    control.close();
    await upstream.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());
  process.stdout.write(
    `${JSON.stringify({ ...upstream.target, control: (control.address() as AddressInfo).port })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`fleet upstream failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
