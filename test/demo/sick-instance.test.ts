import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runSickInstance, SICK } from "../../demo/sick-instance.js";

// The demo's second part, small: three billing instances on 127.0.0.2-4, one sick, reached by the
// naive app and by the sidecar, behind three addresses (dnsmasq) and behind one (a TCP round-robin).

const dir = mkdtempSync(join(tmpdir(), "sick-instance-demo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A short run of both cases: 30 requests, the sidecar's backoff 10 ms, its per-try timeout 1 s. */
const options = (logPath: string, progress: string[]) => ({
  seed: 1,
  load: { requests: 30, concurrency: 6, timeoutMs: 2000 },
  appRetries: 3,
  sidecarEnv: {
    LISTEN_HOST: "127.0.0.1",
    PORT: "0",
    ADMIN_HOST: "127.0.0.1",
    ADMIN_PORT: "0",
    BACKOFF_BASE_MS: "10",
    PER_TRY_TIMEOUT_MS: "1000",
  },
  logPath,
  progress: (line: string) => progress.push(line),
});

describe("runSickInstance", () => {
  it("the app's retries on its kept-alive connection fail; the sidecar's reach healthy instances", async () => {
    const logPath = join(dir, "sidecar.log");
    const progress: string[] = [];
    const { headless, clusterIp } = await runSickInstance(options(logPath, progress));
    expect(progress).toHaveLength(4);
    if (headless === undefined) throw new Error("dnsmasq is installed here: the headless case must run");

    // Three addresses. The app: workers 1 and 4 of 6 hold a connection to the sick instance, and
    // every try of theirs fails. The sidecar: a retry goes to an instance not tried, so none fails.
    const [app, sidecar] = headless.runs;
    expect(app?.label).toBe("app retries 3×");
    expect(app?.failed).toBeGreaterThan(0);
    expect(app?.sickAttempts).toBe((app?.failed ?? 0) * 4);
    expect(sidecar).toMatchObject({ label: "with sidecar", sent: 30, failed: 0 });
    expect(sidecar?.afterRetries).toBeGreaterThan(0);
    // Ejected after ENDPOINT_EJECT_AFTER (5) failures; then no new attempt but those already sent.
    expect(headless.ejection?.sickAttempts).toBeGreaterThanOrEqual(5);
    expect(sidecar?.sickAttempts).toBeLessThanOrEqual((headless.ejection?.sickAttempts ?? 0) + 6);
    expect(readFileSync(logPath, "utf8")).toContain(`"endpoint ejected"`);
    expect(readFileSync(logPath, "utf8")).toContain(`${SICK}:`);

    // One address: the app is stuck as before; the sidecar's retries on new connections succeed.
    const [appOne, sidecarOne] = clusterIp.runs;
    expect(appOne?.failed).toBeGreaterThan(0);
    expect(sidecarOne?.afterRetries).toBeGreaterThan(0);
    expect(sidecarOne?.failed).toBeLessThan(appOne?.failed ?? 0);
    expect(clusterIp.ejection).toBeUndefined(); // a lone endpoint is never ejected
  }, 20_000);
});

describe("runSickInstance leaves nothing behind", () => {
  // Handles that keep an event loop alive: a listening server, a connection, a child process (dnsmasq)
  // and its pipe. One left over would keep `npm run demo` from exiting when it is done.
  const handles = () =>
    process
      .getActiveResourcesInfo()
      .filter((kind) =>
        ["TCPServerWrap", "TCPSocketWrap", "ProcessWrap", "PipeWrap", "UDPWrap"].includes(kind),
      )
      .sort();
  const openFilesIn = (path: string) =>
    readdirSync("/proc/self/fd").filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(path);
      } catch {
        return false; // closed meanwhile
      }
    });

  it("no server, connection, process or log file is left open; the ejection is timed from the sidecar's load", async () => {
    const logPath = join(dir, "leaks.log");
    const before = handles();
    const progress: string[] = [];
    const { headless } = await runSickInstance(options(logPath, progress));
    // Closing handles leave the list a moment later.
    for (let i = 0; i < 100 && handles().join() !== before.join(); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(handles()).toEqual(before);
    expect(openFilesIn(logPath)).toEqual([]);

    // The ejection came during the headless case's sidecar run, which its progress line times.
    const runSeconds = Number(/"with sidecar" in ([\d.]+) s/.exec(progress[1] ?? "")?.[1]);
    const afterMs = headless?.ejection?.afterMs ?? Number.NaN;
    expect(afterMs).toBeGreaterThan(0);
    expect(afterMs).toBeLessThanOrEqual((runSeconds + 0.05) * 1000);
  }, 20_000);
});
