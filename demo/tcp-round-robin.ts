import { type AddressInfo, connect, createServer, type Socket } from "node:net";

export interface TcpRoundRobin {
  /** The balancer's own address, as a ClusterIP: `127.0.0.1:<port>`. */
  readonly host: string;
  readonly port: number;
  /** Connections handed to each backend so far, in the order of `backends`. */
  readonly handed: readonly number[];
  close(): Promise<void>;
}

/**
 * A connection-level balancer, the way kube-proxy serves a ClusterIP: each new TCP connection goes
 * to the next backend in turn, and stays with it for its whole life. Requests on a kept-alive
 * connection therefore all reach the same backend.
 */
export async function startTcpRoundRobin(
  backends: ReadonlyArray<{ readonly host: string; readonly port: number }>,
): Promise<TcpRoundRobin> {
  const handed = backends.map(() => 0);
  const sockets = new Set<Socket>();
  let next = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    track(client);
    const index = next;
    next = (next + 1) % backends.length;
    handed[index] = (handed[index] as number) + 1;
    const target = backends[index] as { host: string; port: number };
    const upstream = connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: "127.0.0.1",
    port: (server.address() as AddressInfo).port,
    handed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
