import { isIP } from "node:net";
import type { ResolveHost } from "./dns-resolve.js";

export interface RefreshEvents {
  /** A resolution of the host name answered with at least one address. */
  resolved(host: string, addresses: readonly string[]): void;
  /** A resolution failed or found nothing: the endpoints already known stay. */
  failed(host: string, error: Error): void;
}

export interface EndpointRefreshOptions {
  /** The host of UPSTREAM_URL, without brackets. An IP literal is one endpoint, never resolved. */
  readonly host: string;
  /** UPSTREAM_DNS_REFRESH_MS; 0 = resolve only at start-up. */
  readonly intervalMs: number;
  readonly resolve: ResolveHost;
  /** Receives every non-empty answer (EndpointSet.update). */
  readonly apply: (addresses: readonly string[]) => void;
  readonly events: RefreshEvents;
}

// Start-up waits at most this long for the first answer before it listens: a resolver that does
// not answer (getaddrinfo can retry for tens of seconds) must not keep the pod from starting.
// Until an answer comes, attempts fail as connect_error, as for a name that cannot be resolved.
const FIRST_ANSWER_WAIT_MS = 5000;

/**
 * Keeps the endpoint list in step with DNS: one resolution at start-up, then one every
 * `intervalMs` (never two at once; the timer does not keep the process alive).
 */
export class EndpointRefresh {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: EndpointRefreshOptions) {}

  /** Resolves once (waiting at most FIRST_ANSWER_WAIT_MS), then starts the periodic refresh. */
  async start(firstAnswerWaitMs = FIRST_ANSWER_WAIT_MS): Promise<void> {
    const { host, intervalMs } = this.options;
    if (isIP(host) !== 0) {
      this.options.apply([host]);
      return;
    }
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([
      this.refresh(),
      new Promise<void>((resolve) => {
        waited = setTimeout(resolve, firstAnswerWaitMs);
        waited.unref();
      }),
    ]);
    clearTimeout(waited);
    if (intervalMs > 0) {
      this.timer = setInterval(() => void this.refresh(), intervalMs);
      this.timer.unref();
    }
  }

  /** One resolution; when one is already running, waits for that one instead. */
  refresh(): Promise<void> {
    this.running ??= this.resolveOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async resolveOnce(): Promise<void> {
    const { host, events } = this.options;
    let addresses: string[];
    try {
      addresses = await this.options.resolve(host);
    } catch (error) {
      events.failed(host, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (addresses.length === 0) {
      events.failed(host, new Error(`no address for ${host}`));
      return;
    }
    events.resolved(host, addresses);
    this.options.apply(addresses);
  }
}
