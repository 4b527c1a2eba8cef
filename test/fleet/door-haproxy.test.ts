import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { type Door, doorConfig, haproxyInstalled, startDoor } from "../../bench/fleet/door-haproxy.js";
import { doorFor } from "../../bench/fleet/scenarios.js";

// HAProxy at billing's door, the fleet check's `haproxy-sheds-breaker-30` row: a real HAProxy in
// front of a real slow server on loopback. CI installs HAProxy (.ci/apt-packages.txt); on a machine
// without it the real part is skipped, as the kubectl tests are.

describe("the door's configuration", () => {
  it("holds the options: maxconn at billing, the queue timeout, Retry-After on 503, abortonclose, no retries", () => {
    const conf = doorConfig(
      4242,
      { host: "127.0.0.9", port: 5002 },
      { maxConn: 8, queueTimeoutMs: 500, retryAfterS: 1 },
    );
    expect(conf).toContain("bind 127.0.0.1:4242");
    expect(conf).toContain("server billing 127.0.0.9:5002 maxconn 8");
    expect(conf).toContain("timeout queue 500ms");
    expect(conf).toContain("set-header Retry-After 1 if { status 503 }");
    expect(conf).toContain("option abortonclose");
    expect(conf).toContain("retries 0");
  });

  it("docs/overload.md shows the configuration doorConfig writes", () => {
    const doc = readFileSync(join(__dirname, "../../docs/overload.md"), "utf8");
    const block = /```haproxy\n([\s\S]*?)```/.exec(doc)?.[1];
    const config = doorConfig(
      5002,
      { host: "127.0.0.1", port: 5003 },
      { maxConn: 8, queueTimeoutMs: 500, retryAfterS: 1 },
    );
    expect(block).toBe(config);
  });

  it("only the haproxy row in overload-drop gets a door, sized to billing's workers", () => {
    const fifo = {
      kind: "fifo",
      workers: 8,
      serviceMs: 100,
      fromS: 20,
      toS: 30,
      dropServiceMs: 500,
    } as const;
    expect(doorFor("haproxy-sheds-breaker-30", fifo)).toEqual({
      maxConn: 8,
      queueTimeoutMs: 500,
      retryAfterS: 1,
    });
    expect(doorFor("haproxy-sheds-breaker-30", { ...fifo, workers: 3 })?.maxConn).toBe(3);
    expect(doorFor("billing-sheds-breaker-30", fifo)).toBeUndefined();
    expect(doorFor("haproxy-sheds-breaker-30", { kind: "random", failure: 0.5 })).toBeUndefined();
  });
});

describe.skipIf(!haproxyInstalled())("HAProxy at the door, for real", () => {
  let server: Server | undefined;
  let door: Door | undefined;
  let dir: string | undefined;
  const agent = new Agent({ connections: 16 });
  afterEach(async () => {
    await door?.stop();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A billing that answers each request after `ms`, counting what reaches it. */
  async function slowBilling(ms: number): Promise<{ port: number; arrived: () => number }> {
    let arrived = 0;
    server = createServer((_req, res) => {
      arrived += 1;
      setTimeout(() => res.end("ok"), ms);
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    return { port: typeof address === "object" && address ? address.port : 0, arrived: () => arrived };
  }

  async function open(billingPort: number, queueTimeoutMs: number): Promise<Door> {
    dir = mkdtempSync(join(tmpdir(), "door-test-"));
    door = await startDoor(
      dir,
      "t",
      { host: "127.0.0.1", port: billingPort },
      {
        maxConn: 1,
        queueTimeoutMs,
        retryAfterS: 1,
      },
    );
    return door;
  }

  const call = (d: Door, signal?: AbortSignal) =>
    request(`http://127.0.0.1:${d.port}/provider`, {
      method: "POST",
      body: "{}",
      dispatcher: agent,
      signal,
    }).then(async (r) => ({
      status: r.statusCode,
      retryAfter: r.headers["retry-after"],
      body: await r.body.text(),
    }));

  it("one at a time reaches billing; one that waited past the queue timeout gets 503 with Retry-After: 1", async () => {
    const billing = await slowBilling(400);
    const d = await open(billing.port, 100);
    const started = performance.now();
    const [first, second] = await Promise.all([call(d), sleep(20).then(() => call(d))]);
    expect(first).toMatchObject({ status: 200, body: "ok" });
    expect(second).toMatchObject({ status: 503, retryAfter: "1" });
    // The 503 came from the door, at its timeout, not after billing's answer.
    expect(performance.now() - started).toBeLessThan(1500);
    expect(billing.arrived()).toBe(1);
  });

  it("drops a waiting request whose caller left: billing never works for it", async () => {
    const billing = await slowBilling(300);
    const d = await open(billing.port, 2000);
    const gone = new AbortController();
    const first = call(d);
    await sleep(50);
    const second = call(d, gone.signal).catch((error: Error) => error.name);
    await sleep(50);
    gone.abort();
    expect(await second).toBe("AbortError");
    expect((await first).status).toBe(200);
    await sleep(500); // past the first answer: a second request still queued would reach billing now
    expect(billing.arrived()).toBe(1);
  });
});
