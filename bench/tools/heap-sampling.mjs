// Preload (node --import) for alloc-per-request.sh: the first SIGUSR2 starts V8's sampling heap
// profiler with every allocation kept (objects that minor and major GCs collected included), the
// second writes the profile to $HEAP_PROFILE_OUT. Changes nothing else in the process.
// HEAP_SAMPLING_SURVIVORS=1 keeps only the objects a minor GC did not free (what gets promoted).
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

const session = new Session();
session.connect();
session.post("HeapProfiler.enable");
let sampling = false;
process.on("SIGUSR2", () => {
  if (!sampling) {
    sampling = true;
    session.post("HeapProfiler.startSampling", {
      samplingInterval: 512,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: process.env.HEAP_SAMPLING_SURVIVORS !== "1",
    });
    return;
  }
  session.post("HeapProfiler.stopSampling", (error, result) => {
    if (!error) writeFileSync(process.env.HEAP_PROFILE_OUT ?? "heap.json", JSON.stringify(result.profile));
  });
});
