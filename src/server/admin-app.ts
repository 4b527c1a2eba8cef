import { Hono } from "hono";
import type { Registry } from "prom-client";
import type { EndpointsView } from "../endpoints/endpoint-set.js";

export interface AdminAppOptions {
  readonly registry: Registry;
  /** False from the moment shutdown starts: kubelet stops sending traffic. */
  readonly isReady: () => boolean;
  /** The effective configuration, credentials redacted. */
  readonly config: Record<string, unknown>;
  /** The upstream's endpoints and their state, read at each request. */
  readonly endpoints: () => EndpointsView;
}

/**
 * The admin listener: Prometheus scrapes, kubelet probes, the effective configuration and the
 * upstream's endpoints.
 */
export function createAdminApp(options: AdminAppOptions) {
  const app = new Hono();
  app.get("/metrics", async (c) =>
    c.body(await options.registry.metrics(), 200, { "content-type": options.registry.contentType }),
  );
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) =>
    options.isReady() ? c.json({ status: "ready" }) : c.json({ status: "draining" }, 503),
  );
  app.get("/config", (c) => c.json(options.config));
  app.get("/endpoints", (c) => c.json(options.endpoints()));
  app.notFound((c) =>
    c.json({ error: "not found", paths: ["/metrics", "/healthz", "/readyz", "/config", "/endpoints"] }, 404),
  );
  return app;
}
