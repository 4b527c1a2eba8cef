import { createHook } from "node:async_hooks";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../support/sidecar-harness.js";

// The proxy's happy path, end to end in this process: a request whose first attempt succeeds goes
// through the admission, the body read, the retry loop (a state machine driven by undici's
// callbacks), the answer and the report without a single promise of its own. The client and the
// upstream are plain callbacks too, and the kept-alive upstream connection is warmed first.

let upstream: Server;
let h: Harness;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    req.on("end", () =>
      res.writeHead(201, { "content-type": "application/json", "content-length": "8" }).end('{"id":1}'),
    );
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const port = (upstream.address() as { port: number }).port;
  h = await startHarness({ UPSTREAM_URL: `http://127.0.0.1:${port}` });
});

afterAll(async () => {
  await h.close();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

/** Sends `count` POSTs on one kept-alive connection, one after the other; `done` gets each answer. */
function postInTurn(port: number, count: number, done: (answers: string[]) => void): void {
  const body = '{"name":"acme"}';
  const request = `POST /provider HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const answers: string[] = [];
  let buffered = "";
  const socket = connect(port, "127.0.0.1", () => socket.write(request));
  socket.setEncoding("latin1");
  socket.on("data", (text: string) => {
    buffered += text;
    if (!buffered.endsWith('{"id":1}')) return;
    answers.push(buffered);
    buffered = "";
    if (answers.length < count) socket.write(request);
    else {
      socket.end();
      done(answers);
    }
  });
}

describe("the proxy's happy path", () => {
  it("a request whose first attempt succeeds creates no promise between its bytes and its answer", async () => {
    const port = Number(new URL(h.url).port);
    // Warm up: the upstream connection, lazily built series, JIT.
    await new Promise<string[]>((resolve) => postInTurn(port, 3, resolve));
    let created = 0;
    const sidecarFrame = /[/\\]src[/\\][\w/\\-]+\.ts:/;
    const hook = createHook({
      init(_id, type) {
        if (type !== "PROMISE") return;
        // Counted: a promise with the sidecar's own code (src/) on its stack, made by it or by
        // what it called. Not counted: the test runner's (its worker talks to the main thread on
        // a loaded machine) and what node:http and undici make on their own.
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 64;
        const stack = new Error().stack ?? "";
        Error.stackTraceLimit = limit;
        if (sidecarFrame.test(stack)) created++;
      },
    });
    // Counting starts on a later turn of the event loop, after this promise and its await exist.
    const answers = await new Promise<string[]>((resolve) => {
      setImmediate(() => {
        hook.enable();
        postInTurn(port, 5, (got) => {
          hook.disable();
          resolve(got);
        });
      });
    });
    expect(answers).toHaveLength(5);
    for (const answer of answers) expect(answer).toMatch(/^HTTP\/1\.1 201 /);
    expect(created).toBe(0);
  });
});
