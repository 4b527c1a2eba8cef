import { request } from "node:http";
import { connect, Server as NetServer } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  AttemptCounter,
  answer,
  attemptsOnly,
  INSTANCES,
  type Listening,
  listen,
  type RunningUpstream,
  startModel,
} from "../../bench/fleet/upstream-servers.js";
import { mulberry32 } from "../../demo/flaky-billing.js";

// The fleet check's fake billing servers. The report's figures stand on them: a billing that
// answers the wrong status, keeps listening through an outage or counts attempts wrongly would
// make the real fleet disagree with the simulator for reasons of its own.

interface Reply {
  status?: number;
  body?: string;
  /** The error code when no answer came (ECONNREFUSED, ECONNRESET...). */
  error?: string;
}

/** One request on its own connection (so a TCP balancer hands each to the next instance). */
function send(host: string, port: number, opts: { method?: string; path?: string } = {}): Promise<Reply> {
  return new Promise((resolve) => {
    const req = request({
      host,
      port,
      path: opts.path ?? "/provider/charge",
      method: opts.method ?? "POST",
      agent: false,
    });
    req.once("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.once("end", () => resolve({ status: res.statusCode, body }));
      res.once("error", () => resolve({ error: "aborted" }));
    });
    req.once("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(opts.method === "GET" ? undefined : "{}");
  });
}

/** Whether a new TCP connection to host:port is refused (nothing listens). */
function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `promise`, or "timeout" if it has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Bind {
  host: string;
  server: NetServer;
}

/** The port a server was bound to (recorded by recordBinds, since address() is null once closed). */
const ports = new WeakMap<NetServer, number>();
function boundPort(server: NetServer): number {
  return ports.get(server) as number;
}

/**
 * Records every server.listen(port, host, cb) call; `failOn` makes the first `times` binds on that
 * host fail for real (EADDRINUSE: they are sent to a port a blocker holds).
 */
function recordBinds(failOn?: { host: string; port: number; times: number }) {
  const binds: Bind[] = [];
  const real = NetServer.prototype.listen as (port: number, host: string, cb: () => void) => NetServer;
  let failures = failOn?.times ?? 0;
  const spy = vi.spyOn(NetServer.prototype, "listen").mockImplementation(function (
    this: NetServer,
    ...args: unknown[]
  ) {
    const [port, host, cb] = args as [number, string, () => void];
    binds.push({ host, server: this });
    const bindTo = failOn !== undefined && host === failOn.host && failures-- > 0 ? failOn.port : port;
    return real.call(this, bindTo, host, () => {
      ports.set(this, (this.address() as { port: number }).port);
      cb();
    });
  });
  return {
    binds,
    stop(): Bind[] {
      spy.mockRestore();
      return binds;
    },
  };
}

const OK = '{"id":1}';
const UNAVAILABLE = '{"error":"temporarily unavailable"}';

describe("AttemptCounter", () => {
  it("ignores attempts before the load starts (the warm-up's)", () => {
    const counter = new AttemptCounter();
    counter.count("127.0.0.2");
    expect(counter.total).toBe(0);
    expect(counter.perInstance).toEqual({});
    expect(counter.perSecond).toEqual([]);
    expect(counter.elapsedS()).toBeUndefined();
  });

  it("counts in all, per instance and per second since the start, the first second included", () => {
    const counter = new AttemptCounter();
    counter.startedAt = performance.now();
    counter.count("127.0.0.2");
    counter.count("127.0.0.3");
    counter.count("127.0.0.2");
    expect(counter.total).toBe(3);
    expect(counter.perInstance).toEqual({ "127.0.0.2": 2, "127.0.0.3": 1 });
    expect(counter.perSecond).toEqual([3]);
    // 2.5 s into the load: the third second.
    counter.startedAt = performance.now() - 2500;
    counter.count("127.0.0.4");
    expect(counter.perSecond[2]).toBe(1);
    expect(counter.perInstance["127.0.0.4"]).toBe(1);
    const elapsed = counter.elapsedS() as number;
    expect(elapsed).toBeGreaterThanOrEqual(2.5);
    expect(elapsed).toBeLessThan(10);
  });
});

describe("listen and attemptsOnly", () => {
  const opened: Listening[] = [];
  afterEach(async () => {
    for (const l of opened.splice(0)) if (l.server.listening) await l.stop();
  });

  it("counts only POSTs to /provider…: anything else is a 404 and not an attempt", async () => {
    const counter = new AttemptCounter();
    counter.startedAt = performance.now();
    const billing = await listen(
      attemptsOnly(counter, "127.0.0.1", (_req, res) => answer(res, 200)),
      "127.0.0.1",
      0,
    );
    opened.push(billing);
    expect(await send("127.0.0.1", billing.port, { method: "POST", path: "/health" })).toEqual({
      status: 404,
      body: UNAVAILABLE,
    });
    expect(await send("127.0.0.1", billing.port, { method: "GET", path: "/provider/charge" })).toEqual({
      status: 404,
      body: UNAVAILABLE,
    });
    expect(counter.total).toBe(0);
    expect(await send("127.0.0.1", billing.port)).toEqual({ status: 200, body: OK });
    expect(counter.perInstance).toEqual({ "127.0.0.1": 1 });
  });

  it("stop cuts a request in progress and refuses new connections; listenAgain serves on the same port", async () => {
    const held: Parameters<typeof answer>[0][] = [];
    const billing = await listen((_req, res) => void held.push(res), "127.0.0.1", 0);
    opened.push(billing);
    const pending = send("127.0.0.1", billing.port);
    for (let i = 0; i < 100 && held.length === 0; i++) await sleep(10);
    expect(held).toHaveLength(1);
    // stop must not wait for the client to give up on an unanswered request.
    expect(await within(billing.stop(), 1000)).toBeUndefined();
    expect((await within(pending, 1000)) as Reply).toMatchObject({ error: expect.any(String) });
    expect(await refused("127.0.0.1", billing.port)).toBe(true);
    await billing.listenAgain();
    expect(billing.server.listening).toBe(true);
    expect(await refused("127.0.0.1", billing.port)).toBe(false);
  });

  it("rejects when the port is taken, and leaves no error listener behind once bound", async () => {
    const first = await listen((_req, res) => answer(res, 200), "127.0.0.1", 0);
    opened.push(first);
    // A settled bind's listener would swallow the server's later errors.
    expect(first.server.listenerCount("error")).toBe(0);
    await first.stop();
    await first.listenAgain();
    expect(first.server.listenerCount("error")).toBe(0);
    const clash = listen((_req, res) => answer(res, 200), "127.0.0.1", first.port);
    expect(
      await within(
        clash.then(
          () => "bound",
          (e: NodeJS.ErrnoException) => e.code,
        ),
        1000,
      ),
    ).toBe("EADDRINUSE");
  });
});

describe("the billing models", () => {
  let billing: RunningUpstream | undefined;
  afterEach(async () => {
    await billing?.close();
    billing = undefined;
  });

  it("random: 503 or 200 as the seeded draw says, one draw per attempt in arrival order", async () => {
    const counter = new AttemptCounter();
    billing = await startModel({ kind: "random", failure: 0.5 }, counter, 7);
    counter.startedAt = performance.now();
    const rand = mulberry32(7);
    const expected = Array.from({ length: 12 }, () => (rand() < 0.5 ? 503 : 200));
    expect(new Set(expected)).toEqual(new Set([200, 503])); // the seed gives both
    const statuses: (number | undefined)[] = [];
    for (let i = 0; i < 12; i++) {
      const reply = await send(billing.target.host, billing.target.port);
      expect(reply.body).toBe(reply.status === 200 ? OK : UNAVAILABLE);
      statuses.push(reply.status);
    }
    expect(statuses).toEqual(expected);
    expect(counter.perInstance).toEqual({ "127.0.0.1": 12 });
    expect(billing.extra()).toEqual({});
  });

  it("outage: healthy, refuses connections from fromS to toS, healthy again; close stops it", async () => {
    const counter = new AttemptCounter();
    billing = await startModel({ kind: "outage", fromS: 0.3, toS: 0.7 }, counter, 1);
    const { host, port } = billing.target;
    counter.startedAt = performance.now();
    billing.start();
    expect((await send(host, port)).status).toBe(200);
    // Poll (bounded) for the outage, then for the recovery: the order is what matters.
    let downAt: number | undefined;
    for (let i = 0; i < 100 && downAt === undefined; i++) {
      if ((await send(host, port)).error === "ECONNREFUSED") downAt = counter.elapsedS();
      else await sleep(20);
    }
    expect(downAt).toBeGreaterThanOrEqual(0.29);
    let upAt: number | undefined;
    for (let i = 0; i < 100 && upAt === undefined; i++) {
      if ((await send(host, port)).status === 200) upAt = counter.elapsedS();
      else await sleep(20);
    }
    expect(upAt).toBeGreaterThanOrEqual(0.69);
    await billing.close();
    billing = undefined;
    expect(await refused(host, port)).toBe(true);
  });

  it("outage: close before the load starts, or during the outage, leaves nothing listening", async () => {
    const counter = new AttemptCounter();
    const idle = await startModel({ kind: "outage", fromS: 5, toS: 6 }, counter, 1);
    expect((await send(idle.target.host, idle.target.port)).status).toBe(200);
    await idle.close();
    expect(await refused(idle.target.host, idle.target.port)).toBe(true);

    billing = await startModel({ kind: "outage", fromS: 0, toS: 0.3 }, counter, 1);
    const { host, port } = billing.target;
    billing.start();
    for (let i = 0; i < 50 && !(await refused(host, port)); i++) await sleep(10);
    expect(await refused(host, port)).toBe(true);
    expect(await within(billing.close(), 1000)).toBeUndefined();
    billing = undefined;
    await sleep(400); // past toS: the cancelled recovery must not bring it back
    expect(await refused(host, port)).toBe(true);
  });

  it("sick headless: three instances on one port, 127.0.0.3 answers 503, each attempt counted where it landed", async () => {
    const counter = new AttemptCounter();
    counter.startedAt = performance.now();
    billing = await startModel({ kind: "sick", service: "headless" }, counter, 1);
    const { port, addresses } = billing.target;
    expect(addresses).toEqual(INSTANCES);
    const replies = [];
    for (const address of INSTANCES) replies.push(await send(address, port));
    expect(replies).toEqual([
      { status: 200, body: OK },
      { status: 503, body: UNAVAILABLE },
      { status: 200, body: OK },
    ]);
    expect(counter.perInstance).toEqual({ "127.0.0.2": 1, "127.0.0.3": 1, "127.0.0.4": 1 });
    expect(billing.extra()).toEqual({ sickInstance: "127.0.0.3" });
    await billing.close();
    billing = undefined;
    for (const address of INSTANCES) expect(await refused(address, port)).toBe(true);
  });

  it("sick clusterip: one balancer address hands each connection to the next instance; close stops all", async () => {
    const counter = new AttemptCounter();
    counter.startedAt = performance.now();
    const binds = recordBinds();
    billing = await startModel({ kind: "sick", service: "clusterip" }, counter, 1);
    const { host, port } = billing.target;
    expect(host).toBe("127.0.0.1");
    const instances = binds.stop().filter((b) => b.host !== "127.0.0.1");
    expect(instances.map((b) => b.host)).toEqual(INSTANCES);
    expect(billing.target.addresses).toBeUndefined();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(host, port)).status);
    expect(statuses).toEqual([200, 503, 200]);
    expect(counter.perInstance).toEqual({ "127.0.0.2": 1, "127.0.0.3": 1, "127.0.0.4": 1 });
    expect(billing.extra()).toEqual({ sickInstance: "127.0.0.3", connectionsHanded: [1, 1, 1] });
    await billing.close();
    billing = undefined;
    expect(await refused(host, port)).toBe(true);
    for (const { host: address, server } of instances) {
      expect(server.listening).toBe(false);
      expect(await refused(address, boundPort(server))).toBe(true);
    }
  });

  it("sick hung: 127.0.0.3 takes the attempt and never answers; close cuts it at once", async () => {
    const counter = new AttemptCounter();
    counter.startedAt = performance.now();
    billing = await startModel({ kind: "sick", service: "headless", hung: true }, counter, 1);
    const { port } = billing.target;
    expect((await send("127.0.0.2", port)).status).toBe(200);
    expect((await send("127.0.0.4", port)).status).toBe(200);
    const hung = send("127.0.0.3", port);
    for (let i = 0; i < 100 && counter.perInstance["127.0.0.3"] === undefined; i++) await sleep(10);
    expect(counter.perInstance["127.0.0.3"]).toBe(1);
    expect(await within(hung, 300)).toBe("timeout");
    // Closing must not wait for the caller to give up.
    expect(await within(billing.close(), 1000)).toBeUndefined();
    billing = undefined;
    expect((await within(hung, 1000)) as Reply).toMatchObject({ error: expect.any(String) });
  });
});

describe("the sick model's instances when their shared port is taken on another address", () => {
  let billing: RunningUpstream | undefined;
  let blocker: NetServer | undefined;
  let binds: ReturnType<typeof recordBinds> | undefined;
  afterEach(async () => {
    const all = binds?.stop() ?? [];
    binds = undefined;
    await billing?.close();
    billing = undefined;
    for (const { server } of all) if (server.listening) await new Promise((r) => server.close(r));
    if (blocker !== undefined) await new Promise((r) => blocker?.close(r));
    blocker = undefined;
  });

  /** Something else listening on 127.0.0.3: the instance binds sent to its port clash. */
  async function block(): Promise<number> {
    const server = new NetServer();
    blocker = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.3", resolve));
    return (server.address() as { port: number }).port;
  }

  it("stop the instances of the failed try and start all three again on one fresh port", async () => {
    const port = await block();
    binds = recordBinds({ host: "127.0.0.3", port, times: 1 });
    billing = await startModel({ kind: "sick", service: "headless" }, new AttemptCounter(), 1);
    const tried = binds.stop();
    expect(tried.map((b) => b.host)).toEqual([
      "127.0.0.2",
      "127.0.0.3",
      "127.0.0.2",
      "127.0.0.3",
      "127.0.0.4",
    ]);
    // The first try's 127.0.0.2 must not stay behind, listening on a port nobody sends to.
    expect(tried[0]?.server.listening).toBe(false);
    for (const b of tried.slice(2)) expect(b.server.listening).toBe(true);
    const replies = [];
    for (const address of INSTANCES) replies.push((await send(address, billing.target.port)).status);
    expect(replies).toEqual([200, 503, 200]);
  });

  it("give up after six tries with the bind's error, leaving nothing listening", async () => {
    const port = await block();
    binds = recordBinds({ host: "127.0.0.3", port, times: 100 });
    const started = startModel({ kind: "sick", service: "headless" }, new AttemptCounter(), 1);
    const outcome = await within(
      started.then(
        () => "started",
        (e: NodeJS.ErrnoException) => e.code,
      ),
      3000,
    );
    const tried = binds.stop();
    expect(outcome).toBe("EADDRINUSE");
    expect(tried.filter((b) => b.host === "127.0.0.3")).toHaveLength(6);
    for (const b of tried) expect(b.server.listening).toBe(false);
  });
});
