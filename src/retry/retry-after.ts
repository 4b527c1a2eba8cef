// RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds. HTTP-date (§5.6.7) is IMF-fixdate,
// and recipients should also accept the obsolete RFC 850 and asctime forms.
const delaySeconds = /^\d+$/;
const imfFixdate = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const rfc850 =
  /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const asctime = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * The wait a Retry-After value asks for, in ms, or undefined when it is absent or unparsable
 * (then normal backoff applies). A date in the past means "now" (0). Pure: `nowMs` is given.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (delaySeconds.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isFinite(ms) ? ms : Number.POSITIVE_INFINITY;
  }
  if (imfFixdate.test(text) || rfc850.test(text) || asctime.test(text)) {
    const at = Date.parse(
      asctime.test(text) ? `${text} GMT` : rfc850.test(text) ? withFullYear(text, nowMs) : text,
    );
    if (Number.isNaN(at)) return undefined;
    return Math.max(0, at - nowMs);
  }
  return undefined;
}

/**
 * RFC 9110 §5.6.7: a two-digit rfc850 year that would be more than 50 years in the future means
 * the most recent past year with those digits (Date.parse instead fixes 00-49 to 20xx, 50-99 to 19xx).
 */
function withFullYear(text: string, nowMs: number): string {
  return text.replace(/-(\d{2}) /, (_, yy: string) => {
    const nowYear = new Date(nowMs).getUTCFullYear();
    let year = nowYear - (nowYear % 100) + Number(yy);
    if (year > nowYear + 50) year -= 100;
    return `-${year} `;
  });
}
