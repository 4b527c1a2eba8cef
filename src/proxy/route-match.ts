/**
 * Route matching on path-segment boundaries: `/provider` matches `/provider` and `/provider/42`,
 * never `/providers`. Longest prefix wins; `/` matches every path. Returns the prefix, which is
 * also the `route` metric label (never the raw path: label cardinality stays bounded).
 */
export function createRouteMatcher(routes: readonly string[]): (path: string) => string | undefined {
  const byLength = [...routes].sort((a, b) => b.length - a.length);
  return (path) => {
    for (const prefix of byLength) {
      if (prefix === "/") return prefix;
      if (
        path.startsWith(prefix) &&
        (path.length === prefix.length || path.charCodeAt(prefix.length) === 47)
      ) {
        return prefix;
      }
    }
    return undefined;
  };
}
