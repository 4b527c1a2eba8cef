# Sourced by alloc-per-request.sh and gc-per-request.sh: what both need before they start a build
# under wrk. Makes a temporary folder (removed at exit, with every process added to `pids` stopped
# by PID), picks three free loopback ports (up, proxy, admin), writes wrk's POST script and starts
# a tiny Node upstream (201 + 14 bytes) on CPU 1.
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
up=$(port); proxy=$(port); admin=$(port)
cat >"$tmp/upstream.cjs" <<'JS'
require("node:http").createServer((q, r) => { q.resume(); q.on("end", () => { r.writeHead(201, { "content-type": "application/json", "content-length": "14" }); r.end('{"id":12345}\n\n'); }); }).listen(Number(process.argv[2]), "127.0.0.1");
JS
cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"name":"acme","plan":"gold","email":"ops@example.com"}'
wrk.headers["Content-Type"] = "application/json"
LUA
taskset -c 1 node "$tmp/upstream.cjs" "$up" & pids+=($!)
