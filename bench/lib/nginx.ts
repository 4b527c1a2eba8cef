import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Paths nginx would otherwise write under /var; all inside the bench's temp dir. */
function preamble(dir: string, name: string): string {
  const tmp = join(dir, `${name}-tmp`);
  mkdirSync(tmp, { recursive: true });
  return `
worker_processes 1;
daemon off;
master_process on;
user root;
pid ${join(dir, `${name}.pid`)};
error_log ${join(dir, `${name}-error.log`)} warn;
events { worker_connections 8192; multi_accept on; }
http {
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
`;
}

/**
 * More loopback addresses on which the `ok` server also answers, on the same port: the three
 * endpoints of the `sidecar-3ep` row (a DNS name that resolves to all three).
 */
export const EXTRA_UPSTREAM_ADDRESSES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"] as const;

export interface UpstreamPorts {
  /** Always `201 {"id":12345}`, on 127.0.0.1 and on each of EXTRA_UPSTREAM_ADDRESSES. */
  ok: number;
  /** Always `503`: a full outage. */
  outage: number;
  /** `503` for an independent 30% of requests, else the `201`. */
  flaky: number;
}

/**
 * The upstream: nginx `return`, the cheapest fixed answer there is. The outage and flaky servers log
 * every request so that the bench counts upstream attempts independently of the sidecar's metrics.
 */
export function upstreamConfig(dir: string, ports: UpstreamPorts): string {
  const ok = `default_type application/json; return 201 '{"id":12345}';`;
  return `${preamble(dir, "upstream")}
  access_log off;
  # $request_id is 16 random bytes per request: an independent draw for each attempt.
  split_clients "\${request_id}" $flaky_fail { 30% fail; * ok; }
  server {
    listen 127.0.0.1:${ports.ok} backlog=4096;
${EXTRA_UPSTREAM_ADDRESSES.map((a) => `    listen ${a}:${ports.ok} backlog=4096;`).join("\n")}
    location / { ${ok} }
  }
  server {
    listen 127.0.0.1:${ports.outage} backlog=4096;
    access_log ${join(dir, "upstream-outage.log")};
    location / { return 503; }
  }
  server {
    listen 127.0.0.1:${ports.flaky} backlog=4096;
    access_log ${join(dir, "upstream-flaky.log")};
    location / {
      if ($flaky_fail = fail) { return 503; }
      ${ok}
    }
  }
}
`;
}

/**
 * nginx as a retrying reverse proxy: a keep-alive pool to the upstream, POST retried on errors and
 * 5xx (`non_idempotent`), the same forwarding headers the sidecar sets, and an access log per request
 * (buffered, as production configs do), since the sidecar also logs every request.
 */
export function proxyConfig(dir: string, port: number, upstreamPort: number): string {
  return `${preamble(dir, "nginx-proxy")}
  access_log ${join(dir, "nginx-proxy-access.log")} combined buffer=64k flush=1s;
  upstream billing {
    server 127.0.0.1:${upstreamPort} max_fails=0;
    keepalive 128;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://billing;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Request-Id $request_id;
      proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
      proxy_next_upstream_tries 4;
    }
  }
}
`;
}

export function writeConfig(dir: string, name: string, text: string): string {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, text);
  return file;
}
