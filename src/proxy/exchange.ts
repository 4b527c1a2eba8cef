import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { ShutdownAbort } from "../retry/abort-cause.js";
import type { CircuitBreaker } from "../retry/circuit-breaker.js";
import type { StopReason } from "../retry/outcome.js";
import type { RetryBudget } from "../retry/retry-budget.js";
import type { RetryRequest, RetryResult } from "../retry/retry-loop.js";
import { RetryRun, type RunEnded } from "../retry/retry-run.js";
import type { RouteGuards } from "../retry/route-guards.js";
import type { UpstreamAttempt } from "../upstream/upstream-client.js";
import { answerCircuitOpen, answerClient, answerOverloaded, answerShutdown } from "./answer-client.js";
import { AttemptSender } from "./attempt-sender.js";
import { localReasonOf, statusSentOnSocket } from "./error-replies.js";
import type { ForwardDeps, ForwardTarget } from "./forward-request.js";
import type { BodyReceiver } from "./request-body.js";
import type { RequestCompleted } from "./request-completed.js";
import { retryLimit } from "./retry-limit.js";
import { buildUpstreamHeaders } from "./upstream-headers.js";

/** A bug below the router (not an upstream failure): the router answers 500 if it still can. */
export type ForwardBroke = (error: unknown, outgoing: ServerResponse, request: BrokenRequest) => void;

/** What the router reports of a request a bug ended (its `request completed` event). */
export type BrokenRequest = Pick<
  RequestCompleted,
  "requestId" | "route" | "method" | "path" | "attempts" | "retries" | "endpoint"
> & { readonly startedAt: number };

const NON_IDEMPOTENT = new Set(["POST", "PATCH"]); // RFC 9110 §9.2.2: the methods a retry may repeat

/**
 * One admitted client request from its body to its report, as one object: the client's "gone"
 * switch (it is the request's AbortSignal), the retry loop's request and attempt starter (the
 * attempt sender it extends), the receiver of the body,
 * of the loop's end and of the forwarded answer, and at the end the `RequestCompleted` event
 * itself. Driven by callbacks (body read, attempt ended, answer forwarded): a request whose first
 * attempt succeeds makes no promise and no closure of its own.
 */
export class Exchange
  extends AttemptSender<ForwardDeps>
  implements RetryRequest, BodyReceiver, RunEnded<UpstreamAttempt>, RequestCompleted
{
  // RetryRequest (route and requestId are RequestCompleted's too)
  readonly route: string;
  readonly requestId: string;
  maxRetries = 0;
  replayable = true;
  idempotent = true;
  readonly deadlineAt: number;
  readonly breaker: CircuitBreaker;
  readonly budget: RetryBudget;
  // RequestCompleted (method is the sender's), filled in by `report`
  readonly path: string;
  status = 0;
  attempts = 0;
  retries = 0;
  durationMs = 0;
  stop: StopReason | undefined = undefined;
  retryable = false;
  error: Error | undefined = undefined;
  endpoint: string | undefined = undefined;
  localReason: string | undefined = undefined;

  /** InFlight's slot (in-flight.ts). */
  inFlightSlot = -1;
  readonly startedAt: number;
  private result: RetryResult<UpstreamAttempt> | undefined = undefined;
  private looping = false;
  private released = false;

  constructor(
    private readonly incoming: IncomingMessage,
    private readonly outgoing: ServerResponse,
    target: ForwardTarget,
    deps: ForwardDeps,
    guards: RouteGuards,
    readonly isProbe: boolean,
    private readonly broke: ForwardBroke,
  ) {
    super(deps, incoming.method ?? "GET", target.pathAndQuery);
    this.route = target.route;
    this.breaker = guards.breaker;
    this.budget = guards.budget;
    this.requestId = target.requestId;
    this.path = target.path;
    this.startedAt = target.startedAt;
    this.deadlineAt = target.startedAt + deps.settings.requestTimeoutMs;
  }

  // --- the body ------------------------------------------------------------------------------------

  bodyBuffered(bytes: Buffer | null): void {
    this.startRetries(bytes, String(bytes?.length ?? 0));
  }

  bodyStreamed(stream: Readable): void {
    this.replayable = false; // a streamed body is sent once
    this.startRetries(stream, this.incoming.headers["content-length"]);
  }

  bodyFailed(): void {
    // The client went away (or broke the framing) while sending its body: nothing to answer.
    if (this.isProbe) this.breaker.releaseProbe();
    this.deps.overload.release();
    this.release();
    this.report(499, CLIENT_LEFT_EARLY);
  }

  private startRetries(body: Buffer | Readable | null, contentLength: string | undefined): void {
    try {
      const { deps, incoming } = this;
      const headers = incoming.headers;
      const idempotencyName = deps.settings.idempotencyHeader;
      const needsKey =
        idempotencyName !== "" && NON_IDEMPOTENT.has(this.method) && headers[idempotencyName] === undefined;
      this.maxRetries = retryLimit(headers["x-retry-max"], deps.settings.maxRetries);
      // With IDEMPOTENCY_HEADER set, every POST/PATCH carries a key (its own or a generated one).
      this.idempotent = idempotencyName !== "" || !NON_IDEMPOTENT.has(this.method);
      const upstreamHeaders = buildUpstreamHeaders({
        rawHeaders: incoming.rawHeaders,
        connection: headers.connection,
        clientAddress: incoming.socket.remoteAddress,
        upstreamHost: deps.upstream.host,
        requestId: this.requestId,
        idempotency: needsKey ? [idempotencyName, deps.newId()] : undefined,
        contentLength,
      });
      this.sendWith(upstreamHeaders, body);
      this.looping = true;
      new RetryRun(this, this, deps.policy, deps.retry, this).start();
    } catch (error) {
      this.retriesFailed(error);
    }
  }

  // --- the retry loop's end ------------------------------------------------------------------------

  retriesEnded(result: RetryResult<UpstreamAttempt>): void {
    const { outgoing, requestId } = this;
    this.result = result;
    if (result.last === undefined && result.stop === "circuit_open") {
      // The circuit opened while this request waited to retry: the circuit's own answer.
      answerCircuitOpen(outgoing, this.breaker.retryAfterMs(), requestId, result.attempts);
    } else if (result.stop === "shutdown") {
      answerShutdown(outgoing, requestId, result.attempts);
    } else if (result.last === undefined && result.stop === "overloaded") {
      // Overload protection refused the retry after its wait, and the response was dropped before it.
      answerOverloaded(outgoing, requestId, result.attempts);
    } else {
      answerClient(outgoing, result, requestId, this);
      return;
    }
    this.release();
    this.report(503, result);
  }

  /** A bug below (thrown by the loop, a sender, a subscriber or the answer). */
  retriesFailed(error: unknown, run?: RetryResult<UpstreamAttempt>): void {
    // It must not hold shutdown for the whole grace period, nor keep the route's half-open probe
    // taken (every later request would get the circuit's 503).
    this.release();
    if (this.isProbe) this.breaker.releaseProbe();
    if (!this.looping) this.deps.overload.release();
    if (run !== undefined) {
      this.attempts = run.attempts;
      this.retries = run.retries;
    }
    this.endpoint = this.target;
    this.broke(error, this.outgoing, this);
  }

  // --- the answer ----------------------------------------------------------------------------------

  /** The client has the answer from answer-client.ts (`status`; 499: it left first), `error` behind it. */
  answered(status: number, error?: Error): void {
    this.release();
    const result = this.result as RetryResult<UpstreamAttempt>;
    // Shutdown may cut the upstream's body off while it streams: the status stays the one sent.
    const stop = this.reason instanceof ShutdownAbort ? "shutdown" : result.stop;
    this.report(status, result, stop, error);
  }

  /** How forwarding the upstream's body ended (answer-client.ts hands this object to the attempt). */
  forwarded(clientGone: boolean, error?: Error): void {
    const response = this.result?.last?.response as UpstreamAttempt;
    // Shutdown's abort ends forwarding as a client's leaving does; the client got this status.
    const left = clientGone && !(this.reason instanceof ShutdownAbort);
    this.answered(left ? 499 : response.status, error);
  }

  // --- internals -----------------------------------------------------------------------------------

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.deps.inFlight.remove(this);
  }

  /** Tells the subscribers (metrics, logs) how the request ended: this object is the event. */
  private report(
    status: number,
    summary: Summary,
    stop: StopReason | undefined = summary.stop,
    error?: Error,
  ): void {
    // Node's parser refused the rest of the request (a broken chunk, a body too slow) and the
    // client was answered on the socket: its 400 or 408, not a client that left.
    const sentOnSocket = statusSentOnSocket(this.outgoing);
    if (sentOnSocket !== undefined) {
      status = sentOnSocket;
      if (stop === "client_gone") stop = undefined;
    }
    this.status = status;
    this.attempts = summary.attempts;
    this.retries = summary.retries;
    this.durationMs = this.deps.clock() - this.startedAt;
    this.stop = stop;
    this.retryable = summary.retryable;
    this.error = error;
    this.endpoint = this.target;
    this.localReason = localReasonOf(this.outgoing);
    this.deps.completed(this);
    this.result = undefined;
    this.dropRequest();
  }
}

/** What the retry loop came to, as far as the report needs it. */
type Summary = Pick<RetryResult<unknown>, "attempts" | "retries" | "stop" | "retryable">;

const CLIENT_LEFT_EARLY: Summary = { attempts: 0, retries: 0, stop: "client_gone", retryable: false };
