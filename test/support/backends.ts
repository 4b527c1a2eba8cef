import { type Behaviour, type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";

/** One attempt as a backend received it: which backend, for which request, which attempt. */
export interface Reached {
  readonly backend: string;
  readonly reqId: string;
  readonly attempt: number;
}

export interface Backends {
  /** The port they all listen on. */
  readonly port: number;
  readonly all: readonly FakeUpstream[];
  /** The backend on this loopback address. */
  at(address: string): FakeUpstream;
  /** Every attempt each backend received, for the request with this x-request-id, by attempt number. */
  reached(reqId: string): Reached[];
  close(): Promise<void>;
}

/**
 * Fake upstreams on distinct loopback addresses (127.0.0.2, .3, ...) and one port, as the pods of
 * one Service. Each answers `from <address>` unless told otherwise, so a reply names its backend.
 */
export async function startBackends(
  addresses: readonly string[],
  behaviour: (address: string) => Behaviour = (address) => ({ status: 200, body: `from ${address}` }),
): Promise<Backends> {
  const all: FakeUpstream[] = [];
  let port = 0;
  for (const address of addresses) {
    const backend = await startFakeUpstream(behaviour(address), { host: address, port });
    port = backend.port;
    all.push(backend);
  }
  return {
    port,
    all,
    at(address) {
      const found = all.find((b) => b.host === address);
      if (found === undefined) throw new Error(`no backend on ${address}`);
      return found;
    },
    reached(reqId) {
      return all
        .flatMap((b) =>
          b.received
            .filter((r) => r.headers["x-request-id"] === reqId)
            .map((r) => ({ backend: b.host, reqId, attempt: Number(r.headers["x-attempt-count"]) })),
        )
        .sort((a, b) => a.attempt - b.attempt);
    },
    close: async () => {
      await Promise.all(all.map((b) => b.close()));
    },
  };
}
