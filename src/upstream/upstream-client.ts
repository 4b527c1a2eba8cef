import { EventEmitter } from "node:events";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { rootCertificates } from "node:tls";
import { type Dispatcher, Pool } from "undici";
import { SidecarError } from "../errors/sidecar-error.js";
import type { FailureKind } from "../retry/outcome.js";
import { classifyTransportError } from "./upstream-errors.js";

// A retried response's body is read and dropped up to this size so its connection can be
// reused; a longer one closes the connection instead.
const DISCARD_LIMIT_BYTES = 64 * 1024;

/** One attempt to send upstream, as plain data. `headers` is a flat [name, value, ...] list. */
export interface UpstreamRequest {
  readonly method: string;
  /** Path and query as the client sent them; the base path of UPSTREAM_URL is prepended here. */
  readonly pathAndQuery: string;
  readonly headers: string[];
  readonly body: Buffer | Readable | null;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body, streamed to the client when this response is final. */
  readonly body: Readable;
  /** Drops a response that will be retried, keeping the connection when the rest is short. */
  discard(): void;
}

/** A transport failure: no response headers arrived. */
export interface UpstreamFailure {
  readonly failure: FailureKind;
  readonly retryable: boolean;
  readonly error: SidecarError;
}

export interface UpstreamClientOptions {
  /** UPSTREAM_URL: origin plus an optional base path. */
  readonly baseUrl: string;
  /** Extra PEM CAs (UPSTREAM_CA_FILE), trusted besides Node's bundled roots. */
  readonly ca?: string | undefined;
  /** Longest silence between two chunks of a response body, ms. */
  readonly bodyTimeoutMs: number;
  /** Injected in tests (undici's MockAgent); by default a keep-alive Pool to the origin. */
  readonly dispatcher?: Dispatcher;
}

/**
 * The only module that speaks undici. It sends one attempt and reports either the response
 * headers (body still streaming) or a classified failure; it never retries by itself.
 */
export class UpstreamClient {
  readonly origin: string;
  /** The Host header value the upstream expects (RFC 9110 §7.2). */
  readonly host: string;
  private readonly basePath: string;
  private readonly dispatcher: Dispatcher;
  private readonly bodyTimeoutMs: number;

  constructor(options: UpstreamClientOptions) {
    const url = new URL(options.baseUrl);
    this.origin = url.origin;
    this.host = url.host;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.bodyTimeoutMs = options.bodyTimeoutMs;
    this.dispatcher =
      options.dispatcher ??
      new Pool(this.origin, {
        // Per-try timeouts are ours (see send); undici's own limits would race them.
        headersTimeout: 0,
        bodyTimeout: options.bodyTimeoutMs,
        ...(options.ca === undefined ? {} : { connect: { ca: [...rootCertificates, options.ca] } }),
      });
  }

  /**
   * Sends one attempt. Resolves with the response once its headers arrive within `timeoutMs`,
   * otherwise with the failure. `signal` (the client going away) cancels it.
   */
  async send(
    request: UpstreamRequest,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<UpstreamResponse | UpstreamFailure> {
    const attempt = new AttemptAbort();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attempt.abort(undefined);
    }, timeoutMs);
    const onClientAbort = () => attempt.abort(signal.reason);
    signal.addEventListener("abort", onClientAbort, { once: true });
    if (signal.aborted) attempt.abort(signal.reason);
    try {
      const response = await this.dispatcher.request({
        origin: this.origin,
        path: this.basePath + request.pathAndQuery,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body,
        signal: attempt,
        bodyTimeout: this.bodyTimeoutMs,
        headersTimeout: 0,
      });
      const body = response.body;
      return {
        status: response.statusCode,
        headers: response.headers,
        body,
        discard: () => {
          body.dump({ limit: DISCARD_LIMIT_BYTES }).catch(() => {});
        },
      };
    } catch (error) {
      if (timedOut) {
        return {
          failure: "timeout",
          retryable: true,
          error: new SidecarError("UPSTREAM_TIMEOUT", `no response headers within ${timeoutMs} ms`, {
            cause: error,
          }),
        };
      }
      return classifyTransportError(error);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onClientAbort);
    }
  }

  /** Lets in-flight requests finish, then closes the connections. */
  close(): Promise<void> {
    return this.dispatcher.close();
  }

  destroy(): Promise<void> {
    return this.dispatcher.destroy();
  }
}

/**
 * One attempt's cancel switch (per-try timeout, or the client leaving). undici accepts an emitter
 * with `aborted`/`reason` and an "abort" event in place of an AbortSignal; an AbortController per
 * attempt (an EventTarget, and a DOMException when it fires) cost about a tenth of a request's CPU.
 */
class AttemptAbort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit("abort");
  }
}

export function isFailure(result: UpstreamResponse | UpstreamFailure): result is UpstreamFailure {
  return "failure" in result;
}
