// The requests of the desync suite (framing.test.ts), each with its verdict: refused with a 4xx
// (and, for the sidecar's own refusals, a reason), or forwarded with the body the upstream must
// read. The verdicts were observed against Node's parser and are what the suite holds it to.

export type Verdict =
  | { readonly refused: 400 | 431; readonly reason?: string }
  | { readonly forwarded: string };

export interface Case {
  readonly name: string;
  readonly bytes: string;
  readonly verdict: Verdict;
}

const START = "POST /provider/case HTTP/1.1\r\nhost: sidecar\r\n";
/** A request with these header lines (CRLF added) and this body. */
const req = (headers: readonly string[], body = "") =>
  `${START}${headers.map((line) => `${line}\r\n`).join("")}\r\n${body}`;
const CHUNKED_HELLO = "5\r\nhello\r\n0\r\n\r\n";
export const FOLLOW_UP =
  "POST /provider/next HTTP/1.1\r\nhost: sidecar\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnext";

export const CASES: readonly Case[] = [
  // Controls: ordinary framing.
  { name: "Content-Length", bytes: req(["content-length: 5"], "hello"), verdict: { forwarded: "hello" } },
  {
    name: "chunked",
    bytes: req(["transfer-encoding: chunked"], CHUNKED_HELLO),
    verdict: { forwarded: "hello" },
  },
  // Duplicate Content-Length.
  {
    name: "two equal Content-Lengths",
    bytes: req(["content-length: 5", "content-length: 5"], "hello"),
    verdict: { refused: 400 },
  },
  {
    name: "two different Content-Lengths",
    bytes: req(["content-length: 5", "content-length: 6"], "hello!"),
    verdict: { refused: 400 },
  },
  { name: "a Content-Length list", bytes: req(["content-length: 5, 5"], "hello"), verdict: { refused: 400 } },
  {
    name: "a Content-Length with a sign",
    bytes: req(["content-length: +5"], "hello"),
    verdict: { refused: 400 },
  },
  {
    name: "a Content-Length with leading zeros",
    bytes: req(["content-length: 005"], "hello"),
    verdict: { forwarded: "hello" },
  },
  // Content-Length with Transfer-Encoding.
  {
    name: "Content-Length then Transfer-Encoding",
    bytes: req(["content-length: 30", "transfer-encoding: chunked"], CHUNKED_HELLO),
    verdict: { refused: 400 },
  },
  {
    name: "Transfer-Encoding then Content-Length",
    bytes: req(["transfer-encoding: chunked", "content-length: 3"], CHUNKED_HELLO),
    verdict: { refused: 400 },
  },
  // Disguised Transfer-Encoding values.
  {
    name: "Transfer-Encoding: chunked, identity",
    bytes: req(["transfer-encoding: chunked, identity"], CHUNKED_HELLO),
    verdict: { refused: 400 },
  },
  {
    // Node accepts codings before a final chunked; the body is the de-chunked one, sent upstream
    // with a Content-Length and no Transfer-Encoding.
    name: "Transfer-Encoding: identity, chunked",
    bytes: req(["transfer-encoding: identity, chunked"], CHUNKED_HELLO),
    verdict: { forwarded: "hello" },
  },
  {
    name: "Transfer-Encoding: xchunked",
    bytes: req(["transfer-encoding: xchunked"], CHUNKED_HELLO),
    verdict: { refused: 400 },
  },
  {
    name: "Transfer-Encoding: chunkedx",
    bytes: req(["transfer-encoding: chunkedx"], CHUNKED_HELLO),
    verdict: { refused: 400 },
  },
  {
    name: "Transfer-Encoding with a leading space ( chunked)",
    bytes: req(["transfer-encoding:  chunked"], CHUNKED_HELLO),
    verdict: { forwarded: "hello" },
  },
  {
    name: "Transfer-Encoding with a tab before the value",
    bytes: req(["transfer-encoding:\tchunked"], CHUNKED_HELLO),
    verdict: { forwarded: "hello" },
  },
  {
    name: "Transfer-Encoding with a tab after the value",
    bytes: req(["transfer-encoding: chunked\t"], CHUNKED_HELLO),
    verdict: { refused: 400 },
  },
  {
    name: "Transfer-Encoding: CHUNKED (case)",
    bytes: req(["TRANSFER-ENCODING: CHUNKED"], CHUNKED_HELLO),
    verdict: { forwarded: "hello" },
  },
  {
    name: "Transfer-Encoding twice",
    bytes: req(["transfer-encoding: chunked", "transfer-encoding: chunked"], CHUNKED_HELLO),
    verdict: { refused: 400 },
  },
  {
    name: "a space before the colon (Transfer-Encoding : chunked)",
    bytes: req(["transfer-encoding : chunked"], CHUNKED_HELLO),
    verdict: { refused: 400 },
  },
  {
    name: "a vertical tab in the value",
    bytes: req(["transfer-encoding: \u000bchunked"], CHUNKED_HELLO),
    verdict: { refused: 400 },
  },
  // Underscore aliases: an ordinary header to Node, a framing header to some upstreams.
  {
    name: "Transfer_Encoding: chunked next to a Content-Length",
    bytes: req(["Transfer_Encoding: chunked", "content-length: 15"], CHUNKED_HELLO),
    verdict: { refused: 400, reason: "ambiguous_header" },
  },
  {
    name: "Transfer_Encoding: chunked alone",
    bytes: req(["Transfer_Encoding: chunked", "content-length: 0"]),
    verdict: { refused: 400, reason: "ambiguous_header" },
  },
  {
    name: "Content_Length next to chunked",
    bytes: req(["transfer-encoding: chunked", "Content_Length: 3"], CHUNKED_HELLO),
    verdict: { refused: 400, reason: "ambiguous_header" },
  },
  {
    name: "Content_Length next to a Content-Length",
    bytes: req(["content-length: 5", "content_length: 2"], "hello"),
    verdict: { refused: 400, reason: "ambiguous_header" },
  },
  {
    name: "Keep_Alive",
    bytes: req(["Keep_Alive: timeout=600", "content-length: 5"], "hello"),
    verdict: { refused: 400, reason: "ambiguous_header" },
  },
  {
    name: "an underscore name that reads as an ordinary header (X_Api_Key)",
    bytes: req(["X_Api_Key: k", "content-length: 5"], "hello"),
    verdict: { forwarded: "hello" },
  },
  // Line endings and folding.
  {
    name: "bare LF line endings throughout",
    bytes: "POST /provider/case HTTP/1.1\nhost: sidecar\ncontent-length: 5\n\nhello",
    verdict: { refused: 400 },
  },
  {
    name: "a bare LF ending one header line",
    bytes: `${START}x-a: 1\ncontent-length: 5\r\n\r\nhello`,
    verdict: { refused: 400 },
  },
  {
    name: "a bare CR inside a header value",
    bytes: req(["x-a: 1\rcontent-length: 0", "content-length: 5"], "hello"),
    verdict: { refused: 400 },
  },
  {
    name: "obs-fold continuing Transfer-Encoding",
    bytes: req(["transfer-encoding: identity", " chunked", "content-length: 5"], "hello"),
    verdict: { refused: 400 },
  },
  {
    name: "obs-fold in an ordinary header",
    bytes: req(["x-a: 1", "\tfolded", "content-length: 5"], "hello"),
    verdict: { refused: 400 },
  },
  // Control characters and size.
  {
    name: "NUL in a header value",
    bytes: req(["x-a: a\u0000b", "content-length: 5"], "hello"),
    verdict: { refused: 400 },
  },
  {
    name: "NUL in a header name",
    bytes: req(["x-a\u0000: b", "content-length: 5"], "hello"),
    verdict: { refused: 400 },
  },
  {
    name: "headers over 16 KiB",
    bytes: req([`x-big: ${"a".repeat(20_000)}`, "content-length: 5"], "hello"),
    verdict: { refused: 431 },
  },
  // Chunked bodies that are not what they seem.
  {
    name: "a chunk extension",
    bytes: req(["transfer-encoding: chunked"], "5;ext=1\r\nhello\r\n0\r\n\r\n"),
    verdict: { forwarded: "hello" },
  },
  {
    name: "a chunk size that overflows",
    bytes: req(["transfer-encoding: chunked"], "ffffffffffffffffff5\r\nhello\r\n0\r\n\r\n"),
    verdict: { refused: 400 },
  },
  {
    name: "a chunk longer than its size",
    bytes: req(["transfer-encoding: chunked"], "3\r\nhello\r\n0\r\n\r\n"),
    verdict: { refused: 400 },
  },
  {
    name: "a trailer after the last chunk",
    bytes: req(["transfer-encoding: chunked"], "5\r\nhello\r\n0\r\nx-checksum: 1\r\n\r\n"),
    verdict: { forwarded: "hello" },
  },
  {
    name: "a Content-Length in the trailers",
    bytes: req(["transfer-encoding: chunked"], "5\r\nhello\r\n0\r\ncontent-length: 99\r\n\r\n"),
    verdict: { refused: 400 },
  },
  // A second request hidden in the body: the sidecar reads it as the client's next request.
  {
    name: "a request smuggled after a Content-Length body",
    bytes: req(["content-length: 5"], "helloGET /admin HTTP/1.1\r\nhost: sidecar\r\n\r\n"),
    verdict: { forwarded: "hello" },
  },
];
