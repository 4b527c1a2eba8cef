import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";

/**
 * Streams the upstream body to the client: what `stream.pipeline(body, outgoing, callback)` does
 * for these two streams, without its per-call AbortController, whose abort at every normal end
 * builds a DOMException with a stack trace (about a tenth of a proxied request's CPU, see
 * bench/README.md). `callback` runs once: without an error when the response is finished, with
 * the body's error (the client's connection is then destroyed), or with an error when the client
 * went away first (the upstream body is then destroyed, which aborts its request).
 */
export function pipeResponse(
  body: Readable,
  outgoing: ServerResponse,
  callback: (error: Error | undefined) => void,
): void {
  let settled = false;
  const settle = (error: Error | undefined) => {
    if (settled) return;
    settled = true;
    body.off("error", onBodyError);
    outgoing.off("finish", onFinish);
    outgoing.off("close", onClose);
    if (error !== undefined) body.on("error", ignore); // a late second error must not crash us
    callback(error);
  };
  const onBodyError = (error: Error) => {
    outgoing.destroy(error);
    settle(error);
  };
  const onFinish = () => settle(undefined);
  const onClose = () => {
    if (outgoing.writableFinished) return;
    body.destroy();
    settle(
      Object.assign(new Error("client closed the connection first"), { code: "ERR_STREAM_PREMATURE_CLOSE" }),
    );
  };
  body.on("error", onBodyError);
  outgoing.on("finish", onFinish);
  outgoing.on("close", onClose);
  body.pipe(outgoing);
}

function ignore(): void {}
