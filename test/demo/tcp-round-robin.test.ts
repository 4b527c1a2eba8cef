import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startTcpRoundRobin, type TcpRoundRobin } from "../../demo/tcp-round-robin.js";

// The demo's ClusterIP: a connection-level balancer, like kube-proxy. The demo (and the integration
// tests through test/support) rely on it being a transparent pipe: a connection that one side closes
// or resets is gone on the other side too, and close() ends them all.

interface Backend {
  readonly index: number;
  readonly port: number;
  /** Its side of each connection handed to it, in order. */
  readonly sockets: Socket[];
}

const servers: Server[] = [];
const sockets: Socket[] = [];
let balancer: TcpRoundRobin | undefined;

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await balancer?.close();
  balancer = undefined;
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A backend that answers each chunk with its index; `allowHalfOpen` keeps its half open after an end. */
async function startBackend(index: number, allowHalfOpen = false): Promise<Backend> {
  const accepted: Socket[] = [];
  const server = createServer({ allowHalfOpen }, (socket) => {
    socket.on("error", () => {});
    sockets.push(socket);
    accepted.push(socket);
    socket.on("data", () => socket.write(String(index)));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { index, port: (server.address() as AddressInfo).port, sockets: accepted };
}

async function startBalancer(backends: readonly Backend[]): Promise<TcpRoundRobin> {
  balancer = await startTcpRoundRobin(backends.map(({ port }) => ({ host: "127.0.0.1", port })));
  return balancer;
}

async function open(rr: TcpRoundRobin, allowHalfOpen = false): Promise<Socket> {
  const socket = connect({ host: rr.host, port: rr.port, allowHalfOpen });
  socket.on("error", () => {});
  sockets.push(socket);
  await new Promise((resolve) => socket.once("connect", resolve));
  return socket;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 10 ms for up to `ms`. */
async function until(check: () => boolean, ms = 1_000): Promise<boolean> {
  for (let waited = 0; !check() && waited < ms; waited += 10) await sleep(10);
  return check();
}

/** The backend's side of the next connection it is handed. */
async function accepted(backend: Backend, count: number): Promise<Socket> {
  expect(await until(() => backend.sockets.length >= count)).toBe(true);
  return backend.sockets[count - 1] as Socket;
}

/**
 * Whether `socket` closes within a second. With `probe`, it writes meanwhile: a peer that keeps its
 * own half open learns that the other end is gone only when a write of its is refused.
 */
async function closes(socket: Socket, probe = false): Promise<boolean> {
  for (let waited = 0; !socket.closed && waited < 1_000; waited += 20) {
    if (probe && socket.writable) socket.write("ping");
    await sleep(20);
  }
  return socket.closed;
}

/** What one exchange of `socket` brings back (the index of the backend that answered). */
async function ask(socket: Socket): Promise<string> {
  const answer = new Promise<string>((resolve) => socket.once("data", (chunk) => resolve(chunk.toString())));
  socket.write("?");
  return answer;
}

describe("tcp round-robin", () => {
  it("hands each new connection to the next backend in turn, and a connection stays with its backend", async () => {
    const rr = await startBalancer(await Promise.all([0, 1, 2].map((i) => startBackend(i))));
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) {
      const socket = await open(rr);
      answers.push((await ask(socket)) + (await ask(socket)));
    }
    expect(answers).toEqual(["00", "11", "22", "00"]);
    expect(rr.handed).toEqual([2, 1, 1]);
  });

  it("a client that ends its connection closes the backend's, even a backend that would keep its half open", async () => {
    const backend = await startBackend(0, true);
    const rr = await startBalancer([backend]);
    const client = await open(rr);
    const upstream = await accepted(backend, 1);
    client.end();
    expect(await closes(client)).toBe(true);
    expect(await closes(upstream, true)).toBe(true);
  });

  it("a backend that ends its connection closes the client's, even a client that would keep its half open", async () => {
    const backend = await startBackend(0);
    const rr = await startBalancer([backend]);
    const client = await open(rr, true);
    const upstream = await accepted(backend, 1);
    upstream.end();
    expect(await closes(upstream)).toBe(true);
    expect(await closes(client, true)).toBe(true);
  });

  it("a client that resets its connection closes the backend's", async () => {
    const backend = await startBackend(0);
    const rr = await startBalancer([backend]);
    const client = await open(rr);
    const upstream = await accepted(backend, 1);
    client.resetAndDestroy();
    expect(await closes(upstream)).toBe(true);
  });

  it("a backend that resets its connection closes the client's (the billing's reset fault)", async () => {
    const backend = await startBackend(0);
    const rr = await startBalancer([backend]);
    const client = await open(rr);
    const upstream = await accepted(backend, 1);
    upstream.resetAndDestroy();
    expect(await closes(client)).toBe(true);
  });

  it("a backend that refuses the connection closes the client's, and the next connection goes on", async () => {
    const down = await startBackend(0);
    const closed = servers.pop() as Server;
    await new Promise((resolve) => closed.close(resolve)); // its port is closed: connecting is refused
    const up = await startBackend(1);
    const rr = await startBalancer([down, up]);
    const refused = await open(rr);
    expect(await closes(refused)).toBe(true);
    expect(await ask(await open(rr))).toBe("1");
  });

  it("close() ends every connection on both sides, idle ones included, and resolves", async () => {
    const backend = await startBackend(0);
    const rr = await startBalancer([backend]);
    const clients = [await open(rr), await open(rr)];
    const upstreams = [await accepted(backend, 1), await accepted(backend, 2)];
    let timer: NodeJS.Timeout | undefined;
    const closing = rr.close().then(() => "closed");
    const settled = await Promise.race([
      closing,
      new Promise((resolve) => {
        timer = setTimeout(resolve, 1_000, "still open");
      }),
    ]);
    clearTimeout(timer);
    const ended = await Promise.all([...clients, ...upstreams].map((socket) => closes(socket)));
    for (const socket of [...clients, ...upstreams]) socket.destroy(); // lets a hung close() end
    await closing;
    balancer = undefined;
    expect(settled).toBe("closed");
    expect(ended).toEqual([true, true, true, true]);
  });
});
