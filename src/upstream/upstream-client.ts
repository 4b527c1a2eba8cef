import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import type { AttemptTracker } from "../endpoints/attempt-tracker.js";
import type { Endpoint } from "../endpoints/endpoint.js";
import type { AttemptFailure, AttemptSettled } from "./attempt-result.js";
import type { EndpointDispatchers } from "./endpoint-dispatchers.js";
import { UpstreamAttempt } from "./upstream-attempt.js";

/** One attempt to send upstream, as plain data. `headers` is a flat [name, value, ...] list. */
export interface UpstreamRequest {
  readonly method: string;
  /** Path and query as the client sent them; the base path of UPSTREAM_URL is prepended here. */
  readonly pathAndQuery: string;
  readonly headers: readonly string[];
  readonly body: Buffer | Readable | null;
}

export interface UpstreamClientOptions {
  /** UPSTREAM_URL: origin plus an optional base path. */
  readonly baseUrl: string;
  /** Longest silence between two chunks of a response body, ms. */
  readonly bodyTimeoutMs: number;
  /** The connections to each endpoint (keep-alive pools and one-shot connections). */
  readonly dispatchers: EndpointDispatchers;
  /** Told when each attempt starts, what it came to, and when it is over. */
  readonly tracker: AttemptTracker;
}

/**
 * The only module that sends: one attempt to one endpoint, reported either as the response (headers
 * in, body held until the retry loop decides) or as a classified failure. It never retries and
 * never chooses the endpoint: both are policy, decided by its caller.
 */
export class UpstreamClient {
  /** The Host header value the upstream expects (RFC 9110 §7.2): UPSTREAM_URL's, never an address. */
  readonly host: string;
  private readonly basePath: string;
  private readonly bodyTimeoutMs: number;
  private readonly dispatchers: EndpointDispatchers;
  private readonly tracker: AttemptTracker;

  constructor(options: UpstreamClientOptions) {
    const url = new URL(options.baseUrl);
    this.host = url.host;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.bodyTimeoutMs = options.bodyTimeoutMs;
    this.dispatchers = options.dispatchers;
    this.tracker = options.tracker;
  }

  /**
   * Sends one attempt to `endpoint`, on a newly opened connection when `fresh`. Tells `settled`
   * once its response headers arrive within `timeoutMs` (the attempt, its body held until
   * `forwardTo` or `discard`), or its failure; possibly before returning (the client already left).
   * `signal` (the client going away) cancels it. No promise and no closure: the proxy's path.
   */
  start(
    request: UpstreamRequest,
    timeoutMs: number,
    signal: AbortSignal,
    endpoint: Endpoint,
    fresh: boolean,
    settled: AttemptSettled,
  ): void {
    const attempt = new UpstreamAttempt(settled, signal, timeoutMs, endpoint, this.tracker);
    if (signal.aborted) {
      attempt.handleEvent();
      return;
    }
    this.dispatchers.dispatcherFor(endpoint, fresh).dispatch(
      {
        origin: this.dispatchers.originOf(endpoint),
        path: this.basePath === "" ? request.pathAndQuery : this.basePath + request.pathAndQuery,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers as string[],
        body: request.body,
        bodyTimeout: this.bodyTimeoutMs,
        headersTimeout: 0,
      },
      attempt,
    );
  }

  /** `start` as a promise of the attempt or its failure (cut at `timeoutMs`, never waited longer). */
  send(
    request: UpstreamRequest,
    timeoutMs: number,
    signal: AbortSignal,
    endpoint: Endpoint,
    fresh: boolean,
  ): Promise<UpstreamAttempt | AttemptFailure> {
    return new Promise((resolve) => {
      this.start(request, timeoutMs, signal, endpoint, fresh, {
        attemptEnded: resolve,
        waitLonger: cutAtTimeout,
      });
    });
  }
}

function cutAtTimeout(): number {
  return 0;
}

export function isFailure(result: UpstreamAttempt | AttemptFailure): result is AttemptFailure {
  return result.response === undefined;
}

export type { AttemptFailure, UpstreamAttempt };
