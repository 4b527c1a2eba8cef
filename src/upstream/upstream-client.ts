import type { Readable } from "node:stream";
import { rootCertificates } from "node:tls";
import { type Dispatcher, Pool } from "undici";
import { type AttemptFailure, UpstreamAttempt } from "./upstream-attempt.js";

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
  /** Extra PEM CAs (UPSTREAM_CA_FILE), trusted besides Node's bundled roots. */
  readonly ca?: string | undefined;
  /** Longest silence between two chunks of a response body, ms. */
  readonly bodyTimeoutMs: number;
  /** Injected in tests (undici's MockAgent); by default a keep-alive Pool to the origin. */
  readonly dispatcher?: Dispatcher;
}

/**
 * The only module that speaks undici. It sends one attempt and reports either the response
 * (headers in, body held until the retry loop decides) or a classified failure; it never
 * retries by itself.
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
        // Per-try timeouts are ours (see UpstreamAttempt); undici's own limits would race them.
        headersTimeout: 0,
        bodyTimeout: options.bodyTimeoutMs,
        ...(options.ca === undefined ? {} : { connect: { ca: [...rootCertificates, options.ca] } }),
      });
  }

  /**
   * Sends one attempt. Resolves with the attempt once its response headers arrive within
   * `timeoutMs` (its body held until `forwardTo` or `discard`), otherwise with the failure.
   * `signal` (the client going away) cancels it.
   */
  send(
    request: UpstreamRequest,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<UpstreamAttempt | AttemptFailure> {
    return new Promise((settle) => {
      const attempt = new UpstreamAttempt(settle, signal, timeoutMs);
      if (signal.aborted) {
        attempt.handleEvent();
        return;
      }
      this.dispatcher.dispatch(
        {
          origin: this.origin,
          path: this.basePath + request.pathAndQuery,
          method: request.method as Dispatcher.HttpMethod,
          headers: request.headers as string[],
          body: request.body,
          bodyTimeout: this.bodyTimeoutMs,
          headersTimeout: 0,
        },
        attempt,
      );
    });
  }

  /** Lets in-flight requests finish, then closes the connections. */
  close(): Promise<void> {
    return this.dispatcher.close();
  }

  destroy(): Promise<void> {
    return this.dispatcher.destroy();
  }
}

export function isFailure(result: UpstreamAttempt | AttemptFailure): result is AttemptFailure {
  return result.response === undefined;
}

export type { AttemptFailure, UpstreamAttempt };
