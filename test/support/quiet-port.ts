import { createServer } from "node:net";

// Below Linux's ephemeral range (32768-60999 by default): no server started on port 0 and no
// outgoing connection's own port can land here. A test that checks "nothing listens on this port
// any more" after a close needs such a port; on an ephemeral one, a parallel test's server may
// bind the port just freed, or the check's own connection may pick it and connect to itself.
const FIRST = 20_000;
const PER_WORKER = 400;

// From a random place in the slice: two suites run at once (by hand) seldom meet on a port.
let next = Math.floor(Math.random() * PER_WORKER);

/**
 * A free port of 127.0.0.1 that only this test worker hands out (each vitest worker has its own
 * slice, by VITEST_POOL_ID), for a server that a test later expects to find closed.
 */
export async function quietPort(): Promise<number> {
  const worker = Number(process.env.VITEST_POOL_ID ?? "0") % 30;
  for (let tries = 0; tries < PER_WORKER; tries++) {
    const port = FIRST + worker * PER_WORKER + (next++ % PER_WORKER);
    if (await isFree(port)) return port;
  }
  throw new Error("no quiet port left in this worker's slice");
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
