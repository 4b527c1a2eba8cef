import { setPriority } from "node:os";

/**
 * Raises a fleet process's scheduling priority a little (nice -5) when allowed (root, as in CI):
 * the check's processes need little CPU but need it on time, and other work on a shared machine
 * must not stall billing's 10-100 ms timers. Without the right to do so, nothing changes.
 */
export function raisePriority(pid = 0): void {
  try {
    setPriority(pid, -5);
  } catch {
    // not allowed: run at the default priority
  }
}
