import type { Attempt, SendAttempt } from "../retry/retry-loop.js";
import { isFailure, type UpstreamClient, type UpstreamResponse } from "../upstream/upstream-client.js";
import type { RequestBody } from "./request-body.js";

export interface AttemptTemplate {
  readonly method: string;
  readonly pathAndQuery: string;
  /** Every header but the attempt count, as a flat [name, value, ...] list. */
  readonly headers: readonly string[];
  readonly body: RequestBody;
}

/**
 * The retry loop's `send`: one upstream attempt of this request, numbered in x-attempt-count,
 * with the same bytes each time, reported as an outcome the policy can judge.
 */
export function createAttemptSender(
  upstream: UpstreamClient,
  template: AttemptTemplate,
  signal: AbortSignal,
): SendAttempt<UpstreamResponse> {
  const body = template.body.replayable ? template.body.bytes : template.body.stream;
  return async (attempt, timeoutMs): Promise<Attempt<UpstreamResponse>> => {
    const request = {
      method: template.method,
      pathAndQuery: template.pathAndQuery,
      headers: [...template.headers, "x-attempt-count", String(attempt)],
      body,
    };
    const result = await upstream.send(request, timeoutMs, signal);
    if (isFailure(result)) {
      return {
        outcome: { kind: "failure", failure: result.failure, retryable: result.retryable },
        response: undefined,
        error: result.error,
        discard: noop,
      };
    }
    const retryAfter = result.headers["retry-after"];
    return {
      outcome: {
        kind: "response",
        status: result.status,
        retryAfter: typeof retryAfter === "string" ? retryAfter : undefined,
      },
      response: result,
      discard: result.discard,
    };
  };
}

function noop(): void {}
