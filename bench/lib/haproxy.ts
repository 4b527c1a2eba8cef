import { join } from "node:path";

/**
 * HAProxy as a retrying reverse proxy: one thread, server connections reused across requests, and
 * layer-7 retries on every retryable error (connection failures, timeouts, 5xx, empty responses).
 * HAProxy logs only to syslog, so this row logs nothing.
 */
export function haproxyConfig(dir: string, port: number, upstreamPort: number): string {
  return `global
  nbthread 1
  maxconn 8192
  pidfile ${join(dir, "haproxy.pid")}

defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 300s
  retries 3
  retry-on all-retryable-errors
  option http-buffer-request
  http-reuse always

frontend fe
  bind 127.0.0.1:${port}
  option forwardfor
  unique-id-format %{+X}o%ci:%cp_%fi:%fp_%Ts_%rt:%pid
  unique-id-header X-Request-Id
  default_backend be

backend be
  server billing 127.0.0.1:${upstreamPort}
`;
}
