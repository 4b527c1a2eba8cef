import { packageVersion } from "../runtime/version.js";

/** What retry_sidecar_build_info reports: the package's version and the Node.js running it. */
export const buildInfo = {
  version: packageVersion(),
  node: process.versions.node,
};
