import { randomFillSync } from "node:crypto";

// Random UUIDs (RFC 9562 version 4) for X-Request-Id and generated idempotency keys: one per
// request that comes without one. crypto.randomUUID builds each id by concatenating 20 strings
// (about 1.2 KB of garbage per id on Node 24: bench/tools/alloc-per-request.sh); here the hex digits
// are written into one reused buffer and read out as one latin1 string. The random bytes come
// from the CSPRNG in batches, as randomUUID's own cache does.

const BATCH = 128;
const random = Buffer.alloc(16 * BATCH);
let next = BATCH; // refill on first use
const text = Buffer.alloc(36);
const HEX = Buffer.from("0123456789abcdef", "latin1");
// Where each of the 16 bytes goes in "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
for (const at of [8, 13, 18, 23]) text[at] = 0x2d; // "-"

export function randomRequestId(): string {
  if (next === BATCH) {
    randomFillSync(random);
    next = 0;
  }
  const offset = 16 * next++;
  for (let i = 0; i < 16; i++) {
    let byte = random[offset + i] as number;
    if (i === 6)
      byte = (byte & 0x0f) | 0x40; // version 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // variant 10xx
    const at = AT[i] as number;
    text[at] = HEX[byte >> 4] as number;
    text[at + 1] = HEX[byte & 0x0f] as number;
  }
  return text.toString("latin1", 0, 36);
}
