import { type IncomingHttpHeaders, request } from "node:http";

/** A response as the client saw it: status, parsed and raw headers, body bytes. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
}

export interface RawRequestOptions {
  readonly method?: string;
  /**
   * The request target exactly as written on the request line: dot-segments stay, an
   * absolute-form target (`http://host/path`) is sent as is.
   */
  readonly target: string;
  /** Header list as on the wire ([name, value, name, value, ...]): case, order and duplicates kept. */
  readonly headers?: readonly string[];
  readonly body?: Buffer | string;
}

/**
 * One HTTP/1.1 request on a fresh connection to 127.0.0.1:`port`, for what fetch() normalises
 * away or refuses to send (raw targets, hop-by-hop headers, duplicate headers in order).
 * No Host header is added unless `headers` has one.
 */
export function rawRequest(port: number, options: RawRequestOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      method: options.method ?? "GET",
      path: options.target,
      headers: [...(options.headers ?? [])],
      setHost: false,
      agent: false,
    });
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.end(options.body);
  });
}

/** The values of one header in a raw header list (name compared case-insensitively), in order. */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === wanted) values.push(rawHeaders[i + 1] as string);
  }
  return values;
}
