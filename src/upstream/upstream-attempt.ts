import type { Dispatcher } from "undici";
import type { AttemptTracker } from "../endpoints/attempt-tracker.js";
import type { Endpoint } from "../endpoints/endpoint.js";
import type { SidecarError } from "../errors/sidecar-error.js";
import type { AttemptOutcome, FailureKind } from "../retry/outcome.js";
import {
  type AttemptBody,
  cutOff,
  dropChunk,
  forwardChunk,
  holdChunk,
  unpause,
  worthDraining,
  writeHeld,
} from "./attempt-body.js";
import { type CancellableAttempt, cancel, clientLeft, headersTimedOut } from "./attempt-cancel.js";
import { type AttemptMode, DONE, DROPPING, ENDING, FORWARDING, HELD, WAITING } from "./attempt-mode.js";
import type { AttemptFailure, AttemptSettled, Forwarded, ResponseSink } from "./attempt-result.js";
import { headerValue, toHeaderList } from "./raw-headers.js";
import { classifyTransportError } from "./upstream-errors.js";

const NO_HEADERS: string[] = [];

const PENDING: AttemptOutcome = { kind: "response", status: 0, retryAfter: undefined };

/**
 * One upstream attempt as an undici dispatch handler (the way undici's RetryHandler and Envoy's
 * router filter work): it receives the response headers, data and end as callbacks and decides per
 * attempt whether to pass them on to the client or to drop them. No stream, no promise and no
 * closure per chunk: a final body is written straight to the client's response, with
 * backpressure (the upstream parser pauses while the client's socket is full).
 *
 * The handler uses undici's original callbacks (onConnect/onHeaders/onData/onComplete/onError):
 * undici's own client calls them directly, while the newer controller-style callbacks go through
 * a wrapper object and a parse of the raw headers into an object on every response.
 */
export class UpstreamAttempt implements Dispatcher.DispatchHandler, AttemptBody, CancellableAttempt {
  outcome: AttemptOutcome = PENDING;
  status = 0;
  /** The response headers as a flat [name, value, ...] list, bytes kept (latin1). */
  headers: string[] = NO_HEADERS;

  // Not private only because the functions that take the attempt use them (attempt-body.ts,
  // attempt-cancel.ts: plain functions, so no object or closure per attempt); not for other modules.
  mode: AttemptMode = WAITING;
  held: Buffer[] | undefined;
  bytes = 0;
  paused = false;
  resumeUpstream: (() => void) | undefined;
  signal: AbortSignal; // let go when the attempt is over (see `finish`)
  timeoutMs: number;
  abortUpstream: ((reason?: Error) => void) | undefined;
  cancelReason: Error | undefined;

  private settled: AttemptSettled; // let go too
  private readonly endpoint: Endpoint;
  private readonly tracker: AttemptTracker;
  private timer: NodeJS.Timeout | undefined;
  private complete = false;
  private bodyError: Error | undefined;
  private sink: ResponseSink | undefined;
  private forwarded: Forwarded | undefined;

  constructor(
    settled: AttemptSettled,
    signal: AbortSignal,
    timeoutMs: number,
    endpoint: Endpoint,
    tracker: AttemptTracker,
  ) {
    this.settled = settled;
    this.signal = signal;
    this.timeoutMs = timeoutMs;
    this.endpoint = endpoint;
    this.tracker = tracker;
    tracker.started(endpoint);
    this.timer = setTimeout(headersTimedOut, timeoutMs, this);
    signal.addEventListener("abort", this);
  }

  /** At the per-try timeout: waits `waitLonger` ms more, if the retry loop asks it to (true). */
  waitsLonger(): boolean {
    const more = this.settled.waitLonger();
    if (!(more >= 1)) return false;
    this.timeoutMs += more;
    this.timer = setTimeout(headersTimedOut, more, this);
    return true;
  }

  /** This attempt as the retry loop's `Attempt`: the response is the attempt itself. */
  get response(): UpstreamAttempt {
    return this;
  }

  // --- the retry loop's verdict ----------------------------------------------------------------

  /** The answer is final: status and headers are sent; stream the body to `sink`. */
  forwardTo(sink: ResponseSink, forwarded: Forwarded): void {
    if (this.mode !== HELD) return;
    this.mode = FORWARDING;
    this.sink = sink;
    this.forwarded = forwarded;
    writeHeld(this, sink);
    if (this.bodyError !== undefined) this.failForwarding(this.bodyError);
    else if (this.complete) this.endForwarding();
    else unpause(this);
  }

  /** The answer will be retried (or nobody wants it): drop it, keeping the connection if cheap. */
  discard(): void {
    if (this.mode !== HELD) return;
    this.held = undefined;
    if (this.complete || this.bodyError !== undefined) {
      this.finish();
      return;
    }
    this.mode = DROPPING;
    if (worthDraining(this)) unpause(this);
    else cancel(this, cutOff());
  }

  // --- undici's dispatch handler -----------------------------------------------------------------

  onConnect(abort: (reason?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.cancelReason !== undefined) abort(this.cancelReason); // timed out while queued
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // Interim 1xx answers (102, 103) are not the response (RFC 9110 §15.2); undici reports them too.
    if (this.mode !== WAITING || status < 200) return true;
    clearTimeout(this.timer);
    this.resumeUpstream = resume;
    const headers = toHeaderList(rawHeaders);
    const retryAfter = headerValue(headers, "retry-after");
    this.status = status;
    this.headers = headers;
    this.outcome = { kind: "response", status, retryAfter };
    this.mode = HELD;
    this.tracker.outcome(this.endpoint, this.outcome);
    this.settled.attemptEnded(this);
    return true;
  }

  onData(chunk: Buffer): boolean {
    switch (this.mode) {
      case FORWARDING:
        return forwardChunk(this, this.sink as ResponseSink, chunk);
      case HELD:
        return holdChunk(this, chunk);
      case DROPPING:
        if (!dropChunk(this, chunk)) cancel(this, cutOff());
        return true;
      default:
        return true;
    }
  }

  onComplete(): void {
    this.complete = true;
    if (this.mode === FORWARDING) this.endForwarding();
    else if (this.mode === DROPPING) this.finish();
  }

  onError(error: Error): void {
    switch (this.mode) {
      case WAITING: {
        const classified = classifyTransportError(error);
        this.fail(classified.failure, classified.retryable, classified.error);
        return;
      }
      case HELD:
        this.bodyError = error;
        return;
      case FORWARDING:
      case ENDING:
        if (this.signal.aborted) this.finishForwarding(true);
        else this.failForwarding(error);
        return;
      case DROPPING:
        this.finish();
        return;
    }
  }

  // --- the client's signal (an "abort" listener object: no closure per attempt) -------------------

  handleEvent(): void {
    clientLeft(this);
  }

  // --- the attempt's end -----------------------------------------------------------------------

  /** Settles without a response. `cancelled`: the client left, which says nothing of the endpoint. */
  fail(failure: FailureKind, retryable: boolean, error: SidecarError, cancelled = false): void {
    const outcome: AttemptFailure["outcome"] = { kind: "failure", failure, retryable };
    this.tracker.outcome(this.endpoint, cancelled ? undefined : outcome);
    const settled = this.settled;
    this.finish();
    settled.attemptEnded({ outcome, response: undefined, error, discard: noop });
  }

  private endForwarding(): void {
    this.mode = ENDING;
    (this.sink as ResponseSink).end(() => this.finishForwarding(false));
  }

  private failForwarding(error: Error): void {
    (this.sink as ResponseSink).destroy(error);
    this.finishForwarding(false, error);
  }

  finishForwarding(clientGone: boolean, error?: Error): void {
    if (this.mode === DONE) return;
    const forwarded = this.forwarded as Forwarded;
    this.finish();
    if (typeof forwarded === "function") forwarded(clientGone, error);
    else forwarded.forwarded(clientGone, error);
  }

  /** The attempt is over (once): its answer was forwarded or dropped, or it failed. */
  finish(): void {
    if (this.mode === DONE) return;
    this.mode = DONE;
    this.tracker.ended(this.endpoint);
    clearTimeout(this.timer);
    this.signal.removeEventListener("abort", this);
    // Let go of the request's objects: something that still holds this attempt (undici's
    // connection until its next response, a timer) would otherwise keep the whole request alive
    // through young-generation GCs and get it promoted (measured: twice the bytes promoted).
    this.signal = NEVER_ABORTED;
    this.settled = NOBODY;
    this.held = undefined;
    this.sink = undefined;
    this.forwarded = undefined;
  }
}

function noop(): void {}

const NEVER_ABORTED = new AbortController().signal;
const NOBODY: AttemptSettled = { attemptEnded: noop, waitLonger: () => 0 };
