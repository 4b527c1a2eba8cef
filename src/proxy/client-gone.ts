type AbortListener = ((event: Event) => void) | { handleEvent(event: Event): void };

/**
 * One request's "the client is gone" switch (or "shutdown gave up on it"), handed to the retry
 * loop, the attempts and the backoff sleep as the request's AbortSignal. It implements the part of
 * AbortSignal they use (`aborted`, `reason`, "abort" listeners) in plain fields: a real
 * AbortController per request (an EventTarget with its own Map) was the largest per-request
 * object V8 promoted out of the young generation, and dropping it bought about a fifth of a
 * request's CPU at saturation (bench/README.md). Listeners run once, when `abort` is called.
 */
export class ClientGone {
  aborted = false;
  reason: unknown = undefined;
  onabort: ((event: Event) => void) | null = null;
  private listeners: AbortListener[] | undefined;

  /** This switch as the AbortSignal that retry/ and upstream/ take. */
  get signal(): AbortSignal {
    return this as unknown as AbortSignal;
  }

  addEventListener(type: string, listener: AbortListener | null): void {
    if (type !== "abort" || listener === null || this.aborted) return;
    this.listeners ??= [];
    if (!this.listeners.includes(listener)) this.listeners.push(listener);
  }

  removeEventListener(type: string, listener: AbortListener | null): void {
    if (type !== "abort" || listener === null || this.listeners === undefined) return;
    const at = this.listeners.indexOf(listener);
    if (at !== -1) this.listeners.splice(at, 1);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException("This operation was aborted", "AbortError");
    const listeners = this.listeners ?? [];
    this.listeners = undefined;
    const event = new Event("abort");
    this.onabort?.call(this, event);
    for (const listener of listeners) {
      if (typeof listener === "function") listener.call(this, event);
      else listener.handleEvent(event);
    }
  }
}
