import type { Endpoint } from "../endpoints/endpoint.js";
import type { EndpointSet } from "../endpoints/endpoint-set.js";
import { SidecarError } from "../errors/sidecar-error.js";
import type { Attempt, SendAttempt } from "../retry/retry-loop.js";
import type { AttemptFailure, UpstreamAttempt, UpstreamClient } from "../upstream/upstream-client.js";
import type { RequestBody } from "./request-body.js";

export interface AttemptTemplate {
  readonly method: string;
  readonly pathAndQuery: string;
  /** Every header but the attempt count, as a flat [name, value, ...] list. */
  readonly headers: string[];
  readonly body: RequestBody;
}

// x-attempt-count values, made once (MAX_RETRIES is at most 10, so at most 11 attempts).
const ATTEMPT_NUMBERS = Array.from({ length: 12 }, (_, i) => String(i));

/**
 * The retry loop's `send`: one upstream attempt of this request, numbered in x-attempt-count,
 * with the same bytes each time, to the endpoint the balancer picks. A retry prefers an endpoint
 * this request has not tried; one it has tried gets a newly opened connection, so that a
 * connection-level balancer (kube-proxy behind a ClusterIP) can pick another backend.
 */
export function createAttemptSender(
  upstream: UpstreamClient,
  endpoints: EndpointSet,
  template: AttemptTemplate,
  signal: AbortSignal,
): SendAttempt<UpstreamAttempt> {
  const body = template.body.replayable ? template.body.bytes : template.body.stream;
  // undici destroys a streamed body it could not send, with the transport's error; the attempt
  // reports that failure, so the stream's own "error" event needs a listener that only silences it.
  if (!template.body.replayable) template.body.stream.on("error", ignore);
  // The first attempt sends the template's own list with the count appended (no copy on the hot
  // path); a retry sends a copy, since undici may still hold the list of an attempt it queued.
  const first = template.headers;
  first.push("x-attempt-count", "1");
  // The endpoints this request tried; made on the first retry only (most requests have none).
  let firstTried: Endpoint | undefined;
  let tried: Set<string> | undefined;

  const send: SendAttempt<UpstreamAttempt> & { target: string | undefined } = Object.assign(
    (attempt: number, timeoutMs: number): Promise<Attempt<UpstreamAttempt>> => {
      let headers = first;
      if (attempt > 1) {
        headers = first.slice();
        headers[headers.length - 1] = ATTEMPT_NUMBERS[attempt] ?? String(attempt);
        if (tried === undefined) tried = new Set(firstTried === undefined ? [] : [firstTried.key]);
      }
      const endpoint = endpoints.choose(tried);
      send.target = endpoint?.key;
      if (endpoint === undefined) return Promise.resolve(noEndpoint());
      const fresh = tried?.has(endpoint.key) === true;
      if (tried === undefined) firstTried = endpoint;
      else tried.add(endpoint.key);
      return upstream.send(
        { method: template.method, pathAndQuery: template.pathAndQuery, headers, body },
        timeoutMs,
        signal,
        endpoint,
        fresh,
      );
    },
    { target: undefined as string | undefined },
  );
  return send;
}

/** No endpoint is known (the host has not resolved yet): the attempt fails as a connect error. */
function noEndpoint(): AttemptFailure {
  return {
    outcome: { kind: "failure", failure: "connect_error", retryable: true },
    response: undefined,
    error: new SidecarError("UPSTREAM_CONNECT", "no endpoint of the upstream host is known (DNS)"),
    discard: ignore,
  };
}

function ignore(): void {}
