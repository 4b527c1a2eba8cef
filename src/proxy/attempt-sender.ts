import type { Readable } from "node:stream";
import type { Endpoint } from "../endpoints/endpoint.js";
import type { EndpointSet } from "../endpoints/endpoint-set.js";
import { SidecarError } from "../errors/sidecar-error.js";
import type { AttemptReceiver, AttemptStarter } from "../retry/retry-run.js";
import type {
  AttemptFailure,
  UpstreamAttempt,
  UpstreamClient,
  UpstreamRequest,
} from "../upstream/upstream-client.js";
import { ClientGone } from "./client-gone.js";

// x-attempt-count values, made once (MAX_RETRIES is at most 10, so at most 11 attempts).
const ATTEMPT_NUMBERS = Array.from({ length: 12 }, (_, i) => String(i));
const NO_HEADERS: string[] = [];

/** Where the attempts go: the upstream client and its endpoints. */
export interface SenderDeps {
  readonly upstream: UpstreamClient;
  readonly endpoints: EndpointSet;
}

/**
 * The retry loop's attempt starter: one upstream attempt of this request, numbered in
 * x-attempt-count, with the same bytes each time, to the endpoint the balancer picks. A retry
 * prefers an endpoint this request has not tried; one it has tried gets a newly opened connection,
 * so that a connection-level balancer (kube-proxy behind a ClusterIP) can pick another backend.
 * It is also the attempts' request (method, path, headers, body), and the request's "client gone"
 * switch: the exchange (exchange.ts) extends it, so that one client request is one object in
 * flight, not three (what each request holds through a scavenge is most of the sidecar's GC cost).
 */
export class AttemptSender<D extends SenderDeps>
  extends ClientGone
  implements AttemptStarter<UpstreamAttempt>, UpstreamRequest
{
  /** The endpoint the attempt sent last went to. */
  target: string | undefined = undefined;
  /** Every header, the attempt count last, as a flat [name, value, ...] list. */
  headers: string[] = NO_HEADERS;
  body: Buffer | Readable | null = null;
  // The endpoints this request tried; made on the first retry only (most requests have none).
  private firstTried: Endpoint | undefined = undefined;
  private tried: Set<string> | undefined = undefined;

  constructor(
    protected readonly deps: D,
    readonly method: string,
    readonly pathAndQuery: string,
  ) {
    super();
  }

  /** `headers`: every header but the attempt count (the list is used as it is, not copied). */
  protected sendWith(headers: string[], body: Buffer | Readable | null): void {
    // The first attempt sends the caller's own list with the count appended (no copy on the hot
    // path); a retry sends a copy, since undici may still hold the list of an attempt it queued.
    headers.push("x-attempt-count", "1");
    this.headers = headers;
    this.body = body;
    // undici destroys a streamed body it could not send, with the transport's error; the attempt
    // reports that failure, so the stream's own "error" event needs a listener that only silences it.
    if (body !== null && !Buffer.isBuffer(body)) body.on("error", ignore);
  }

  /** A finished request lets go of its header list and body (something may still hold it). */
  protected dropRequest(): void {
    this.headers = NO_HEADERS;
    this.body = null;
  }

  start(attempt: number, timeoutMs: number, receiver: AttemptReceiver<UpstreamAttempt>): void {
    if (attempt > 1) {
      const headers = this.headers.slice();
      headers[headers.length - 1] = ATTEMPT_NUMBERS[attempt] ?? String(attempt);
      this.headers = headers;
      const first = this.firstTried;
      this.tried ??= new Set(first === undefined ? [] : [first.key]);
    }
    const tried = this.tried;
    const endpoint = this.deps.endpoints.choose(tried);
    this.target = endpoint?.key;
    if (endpoint === undefined) {
      receiver.attemptEnded(noEndpoint());
      return;
    }
    const fresh = tried?.has(endpoint.key) === true;
    if (tried === undefined) this.firstTried = endpoint;
    else tried.add(endpoint.key);
    this.deps.upstream.start(this, timeoutMs, this.signal, endpoint, fresh, receiver);
  }
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
