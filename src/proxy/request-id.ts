/**
 * The request's id: the client's X-Request-Id when it sent one, else a new one. Every answer
 * carries it (the sidecar's own included) and every log line of the request names it as reqId.
 */
export function requestIdOf(header: string | string[] | undefined, newId: () => string): string {
  return typeof header === "string" && header !== "" ? header : newId();
}
