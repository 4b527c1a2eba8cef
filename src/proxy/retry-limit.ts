/** x-retry-max: lowers this request's retries (0..MAX_RETRIES); a larger value counts as the maximum. */
export function retryLimit(header: string | string[] | undefined, maxRetries: number): number {
  if (typeof header !== "string" || !/^\s*\d+\s*$/.test(header)) return maxRetries;
  return Math.min(Number(header), maxRetries);
}
