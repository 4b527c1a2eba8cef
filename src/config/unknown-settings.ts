import { settings } from "./settings.js";

/** A variable that looks like a mistyped setting, and the setting it most likely meant. */
export interface UnknownSetting {
  readonly name: string;
  readonly didYouMean: string;
}

const SETTING_NAMES = Object.keys(settings);
const KNOWN = new Set(SETTING_NAMES);

// Only names shaped like the settings are candidates: upper case (ROUTE for ROUTES, PROT for PORT,
// MAX_RETIRES), but not the names a shell, an image or a pod sets for themselves (HOST is two
// edits from PORT). Kubernetes service links (BILLING_SERVICE_HOST, BILLING_PORT=tcp://...,
// BILLING_PORT_443_TCP_ADDR, ...) are the platform's, not the operator's.
const SHAPED_LIKE_A_SETTING = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;
const ENVIRONMENT_OF_ITS_OWN = new Set([
  "HOME",
  "HOST",
  "HOSTNAME",
  "HOSTTYPE",
  "LANG",
  "LOGNAME",
  "MAIL",
  "OLDPWD",
  "PATH",
  "PWD",
  "SHELL",
  "SHLVL",
  "TERM",
  "TZ",
  "USER",
]);
const SERVICE_LINK = /_SERVICE_|_PORT_\d+_(?:TCP|UDP|SCTP)/;
const SERVICE_LINK_PORT = /^(?:tcp|udp|sctp):\/\//;

function isServiceLink(name: string, value: string | undefined): boolean {
  return SERVICE_LINK.test(name) || (name.endsWith("_PORT") && SERVICE_LINK_PORT.test(value ?? ""));
}
const MAX_EDITS = 2;

/**
 * The environment variables that are not settings but within two edits of one (MAX_RETIRES for
 * MAX_RETRIES), each with the nearest setting (the first in table order on a tie). An edit is an
 * insertion, deletion, substitution or a swap of two adjacent letters (Damerau–Levenshtein, in
 * its optimal-string-alignment form), so a transposition counts as one typo, not two.
 */
export function findUnknownSettings(env: Record<string, string | undefined>): UnknownSetting[] {
  const found: UnknownSetting[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (KNOWN.has(name) || ENVIRONMENT_OF_ITS_OWN.has(name) || !SHAPED_LIKE_A_SETTING.test(name)) continue;
    if (isServiceLink(name, value)) continue;
    let best: string | undefined;
    let bestDistance = MAX_EDITS + 1;
    for (const setting of SETTING_NAMES) {
      if (Math.abs(setting.length - name.length) > MAX_EDITS) continue;
      const distance = editDistance(name, setting);
      if (distance < bestDistance) {
        best = setting;
        bestDistance = distance;
      }
    }
    if (best !== undefined) found.push({ name, didYouMean: best });
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Optimal-string-alignment distance between a and b (names are short: the full table is cheap). */
export function editDistance(a: string, b: string): number {
  // d[i][j]: the distance between the first i characters of a and the first j of b.
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => (d[i] as number[])[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}
