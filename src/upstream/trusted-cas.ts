import * as tls from "node:tls";

type CaStore = "default" | "system" | "bundled" | "extra";
// Node 22.15+ and 23.10+ (the image runs 24) can list the operating system's CA store; 20 cannot.
const getCACertificates = (tls as { getCACertificates?: (type?: CaStore) => string[] }).getCACertificates;

/**
 * What an https upstream's certificate is checked against when UPSTREAM_CA_FILE is set: Node's
 * own roots, the operating system's store (the contract trusts the file "besides the system's
 * CAs": a CA the platform team installed in the image stays trusted) and the file. A `ca` option
 * replaces Node's defaults rather than adding to them, so every one is listed. On Node 20, which
 * cannot read the system store, the file joins Node's bundled roots only.
 */
export function trustedCas(fromFile: string): string[] {
  if (getCACertificates === undefined) return [...tls.rootCertificates, fromFile];
  return [...new Set([...getCACertificates("default"), ...getCACertificates("system")]), fromFile];
}
