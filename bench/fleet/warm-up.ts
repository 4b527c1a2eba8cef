import type { App } from "./app-client.js";

// A fleet of a hundred sidecar processes started at once on two cores is not a fleet that has been
// running: their first requests (code compiled, connections opened) all come in the load's first
// seconds, and stalled billing's timers by up to 0.6 s, itself a trigger (the sidecars without
// their fleet-safe rules collapsed from it 15 s before the drop). Pods of a real fleet warm up
// on CPUs of their own, at different times. So a scenario may have every sidecar answer a few
// requests first, paced far below billing's capacity, before its timeline starts; billing counts
// nothing of them (as the simulator's warm-up, which every pod spends before the measured time).

/** Each app sends `perPod` requests, the pods in turn, `ratePerS` a second in all; waits for all. */
export async function warmUp(apps: readonly App[], perPod: number, ratePerS = 20): Promise<void> {
  const calls: Promise<unknown>[] = [];
  for (let round = 0; round < perPod; round++) {
    for (let pod = 0; pod < apps.length; pod++) {
      const app = apps[pod] as App;
      calls.push(app.call(`warm-up-pod${pod}-${round}`));
      await new Promise((resolve) => setTimeout(resolve, 1000 / ratePerS));
    }
  }
  await Promise.all(calls);
}
