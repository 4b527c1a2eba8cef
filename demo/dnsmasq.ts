import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { promises as dns } from "node:dns";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

// A real DNS server for the tests and the demo: dnsmasq from Debian (package dnsmasq-base, listed
// in .ci/apt-packages.txt), on a free loopback port, answering from a hosts file that the caller
// rewrites. Authoritative for `.test`: a name missing from the file is NXDOMAIN, never forwarded.

const DNSMASQ = "/usr/sbin/dnsmasq";

/** Whether dnsmasq is installed (the demo skips its DNS part without it). */
export function dnsmasqInstalled(): boolean {
  return existsSync(DNSMASQ);
}

// Each version of the hosts file carries this name, so a test knows when dnsmasq has read it.
const MARK = "version.dnsmasq.test";

export interface Dnsmasq {
  /** `127.0.0.1:<port>`, as UPSTREAM_DNS_SERVERS takes it. */
  readonly server: string;
  /** Replaces the records (name -> addresses) and waits until dnsmasq answers from them. */
  setHosts(hosts: Record<string, readonly string[]>): Promise<void>;
  /** What dnsmasq wrote on stderr (for a failing test's message). */
  readonly output: string;
  /** Its process id, for a caller that must be able to stop it by PID on an abrupt exit (the bench). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export async function startDnsmasq(hosts: Record<string, readonly string[]>): Promise<Dnsmasq> {
  const dir = mkdtempSync(join(tmpdir(), "sidecar-dnsmasq-"));
  const file = join(dir, "hosts");
  let version = 0;
  const markAddress = () => `127.0.0.${(version % 250) + 1}`;
  const write = (records: Record<string, readonly string[]>) => {
    version += 1;
    const lines = [`${markAddress()} ${MARK}`];
    for (const [name, addresses] of Object.entries(records)) {
      for (const address of addresses) lines.push(`${address} ${name}`);
    }
    writeFileSync(file, `${lines.join("\n")}\n`);
  };
  write(hosts);

  // A free port can be taken between the probe and dnsmasq's bind: try a few.
  for (let tries = 0; tries < 5; tries++) {
    const port = await freeUdpPort();
    const child = spawn(
      DNSMASQ,
      [
        "--keep-in-foreground",
        `--port=${port}`,
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        `--addn-hosts=${file}`,
        "--local=/test/",
        "--conf-file=/dev/null",
        "--pid-file=",
        `--user=${userInfo().username}`,
        "--log-facility=-",
        // No caching: every query reads the records as they are now.
        "--cache-size=0",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let output = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const server = `127.0.0.1:${port}`;
    const resolver = new dns.Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([server]);
    const answers = async (expected: string) => {
      const found = await resolver.resolve4(MARK).catch((): string[] => []);
      return found.includes(expected);
    };
    const up = await waitFor(() => answers(markAddress()), child, 5000);
    if (!up) {
      await kill(child);
      if (/Address already in use/.test(output)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`dnsmasq did not start: ${output}`);
    }
    return {
      server,
      pid: child.pid,
      get output() {
        return output;
      },
      async setHosts(records) {
        write(records);
        child.kill("SIGHUP"); // dnsmasq reads the addn-hosts files again
        if (!(await waitFor(() => answers(markAddress()), child, 5000))) {
          throw new Error(`dnsmasq did not reload its hosts file: ${output}`);
        }
      },
      async stop() {
        await kill(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error("dnsmasq: no free port after 5 tries");
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Polls `check` every 20 ms until it holds (true), the process exits or `ms` pass (false). */
async function waitFor(check: () => Promise<boolean>, child: ChildProcess, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until && child.exitCode === null) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
