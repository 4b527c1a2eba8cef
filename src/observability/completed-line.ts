import pino from "pino";
import type { Logger } from "./logger.js";

/** The fields of a "request completed" log line (docs/contract.md "Logs"), in the order written. */
export interface CompletedFields {
  reqId: string;
  route: string;
  method: string;
  path: string;
  status: number;
  attempts: number;
  durationMs: number;
  endpoint?: string;
  retryStopped?: string;
  error?: { code: string | undefined; message: string };
}

/** What pino hands its destination; sonic-boom and any Writable take strings. */
interface LineSink {
  write(line: string): unknown;
}

const INFO = 30; // pino's number for level "info"

/**
 * The info-level "request completed" line, written by a fixed-shape serializer straight to the
 * logger's destination: the same JSON pino writes (level name, ISO time, pid, hostname, the
 * fields, msg) for about half of pino's cost per line (bench/tools/log-line-cost.mjs). With
 * LOG_REQUESTS=all it is written for every request. A line with an error (warn, rare) goes through
 * pino itself. Every string is escaped by JSON.stringify; the numbers are the forwarder's own.
 */
export function createCompletedLineWriter(logger: Logger): (fields: CompletedFields) => void {
  const holder = logger as unknown as Record<symbol, unknown>;
  const sink = holder[pino.symbols.streamSym] as LineSink;
  // pid and hostname as pino serialized them once for this logger: ',"pid":1,...'.
  const bindings = holder[pino.symbols.chindingsSym] as string;
  let lastMs = -1;
  let lastTime = "";
  return (fields) => {
    if (fields.error !== undefined) {
      logger.warn(fields, "request completed");
      return;
    }
    if (logger.levelVal > INFO) return; // LOG_LEVEL=warn and above
    const now = Date.now();
    // Lines of one millisecond share their timestamp text (toISOString is a third of the line).
    if (now !== lastMs) {
      lastMs = now;
      lastTime = new Date(now).toISOString();
    }
    let line =
      `{"level":"info","time":"${lastTime}"${bindings},"reqId":${JSON.stringify(fields.reqId)}` +
      `,"route":${JSON.stringify(fields.route)},"method":${JSON.stringify(fields.method)}` +
      `,"path":${JSON.stringify(fields.path)},"status":${fields.status},"attempts":${fields.attempts}` +
      `,"durationMs":${fields.durationMs}`;
    if (fields.endpoint !== undefined) line += `,"endpoint":${JSON.stringify(fields.endpoint)}`;
    if (fields.retryStopped !== undefined) line += `,"retryStopped":${JSON.stringify(fields.retryStopped)}`;
    sink.write(`${line},"msg":"request completed"}\n`);
  };
}
