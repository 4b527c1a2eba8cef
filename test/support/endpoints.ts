import type { Endpoint } from "../../src/endpoints/endpoint.js";
import { newEndpoint } from "../../src/endpoints/endpoint.js";
import type { EndpointEvents } from "../../src/endpoints/endpoint-set.js";

/** A random source that returns the given values in turn (then fails: a test used more than it said). */
export function scripted(...values: number[]): () => number {
  let next = 0;
  return () => {
    if (next >= values.length) throw new Error(`random source used more than ${values.length} times`);
    return values[next++] as number;
  };
}

/** Endpoints on 10.0.0.1, .2, ... port 5002, with the given attempts in flight. */
export function endpoints(...inFlight: number[]): Endpoint[] {
  return inFlight.map((n, i) => ({ ...newEndpoint(`10.0.0.${i + 1}`, 5002), inFlight: n }));
}

export type RecordedEvent =
  | {
      readonly event: "changed";
      readonly added: string[];
      readonly removed: string[];
      readonly count: number;
    }
  | {
      readonly event: "ejected";
      readonly endpoint: string;
      readonly failures: number;
      readonly ejectedMs: number;
    }
  | { readonly event: "restored"; readonly endpoint: string }
  | { readonly event: "stuck"; readonly endpoint: string; readonly failures: number };

/** Endpoint events as plain data, in order. */
export function recordEvents(): { events: RecordedEvent[]; sink: EndpointEvents } {
  const events: RecordedEvent[] = [];
  return {
    events,
    sink: {
      changed: (added, removed, count) =>
        events.push({
          event: "changed",
          added: added.map((e) => e.key),
          removed: removed.map((e) => e.key),
          count,
        }),
      ejected: (endpoint, failures, ejectedMs) =>
        events.push({ event: "ejected", endpoint: endpoint.key, failures, ejectedMs }),
      restored: (endpoint) => events.push({ event: "restored", endpoint: endpoint.key }),
      stuck: (endpoint, failures) => events.push({ event: "stuck", endpoint: endpoint.key, failures }),
    },
  };
}
