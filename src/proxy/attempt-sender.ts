import type { Attempt, SendAttempt } from "../retry/retry-loop.js";
import type { UpstreamAttempt, UpstreamClient } from "../upstream/upstream-client.js";
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
 * with the same bytes each time. The attempt reports itself as an outcome the policy can judge.
 */
export function createAttemptSender(
  upstream: UpstreamClient,
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
  return (attempt, timeoutMs): Promise<Attempt<UpstreamAttempt>> => {
    let headers = first;
    if (attempt > 1) {
      headers = first.slice();
      headers[headers.length - 1] = ATTEMPT_NUMBERS[attempt] ?? String(attempt);
    }
    return upstream.send(
      { method: template.method, pathAndQuery: template.pathAndQuery, headers, body },
      timeoutMs,
      signal,
    );
  };
}

function ignore(): void {}
