import { Hono } from "hono";
import type { Registry } from "prom-client";

export interface AdminAppOptions {
  readonly registry: Registry;
  /** False from the moment shutdown starts: kubelet stops sending traffic. */
  readonly isReady: () => boolean;
  /** The effective configuration, credentials redacted. */
  readonly config: Record<string, unknown>;
}

/** The admin listener: Prometheus scrapes, kubelet probes, and the effective configuration. */
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
  app.notFound((c) =>
    c.json({ error: "not found", paths: ["/metrics", "/healthz", "/readyz", "/config"] }, 404),
  );
  return app;
}
