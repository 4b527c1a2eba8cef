/**
 * undici hands response headers over as raw [name, value, ...] Buffers. They become strings once,
 * decoded as latin1 so that every byte goes back to the client as it came (RFC 9110 §5.5: field
 * values are octets), in a flat list that `writeHead` takes as it is.
 */
export function toHeaderList(raw: readonly Buffer[]): string[] {
  const list: string[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) list[i] = (raw[i] as Buffer).toString("latin1");
  return list;
}

/** The first value of the header `lowerName` in a flat list, names compared case-insensitively. */
export function headerValue(list: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return list[i + 1];
  }
  return undefined;
}
