// The overload scenario's billing: a fixed number of workers behind ONE unbounded FIFO queue. A
// job's service time is chosen when a worker takes it (so a capacity drop slows the jobs started
// during it), and the work is done even when the caller has already left: nothing is cancelled,
// which is what lets a queue grow beyond every caller's timeout and stay there.

/** One queued request: `answer` is called when its work is done; `gone` says whether its caller left. */
export interface FifoJob {
  answer(): void;
  gone(): boolean;
}

export interface FifoCounts {
  /** Jobs whose work was done. */
  done: number;
  /** Of those, jobs whose caller had left before the work was done (wasted capacity). */
  doneForGone: number;
  /** Jobs waiting for a worker right now. */
  queued: number;
  /** Workers busy right now. */
  busy: number;
}

export interface FifoWorkersOptions {
  workers: number;
  /** Service time of a job started now (the capacity drop changes it). */
  serviceMs: () => number;
  /** Timer of the runtime (a fake one in tests). */
  schedule: (ms: number, run: () => void) => void;
}

export class FifoWorkers {
  private readonly queue: FifoJob[] = [];
  private head = 0;
  readonly counts: FifoCounts = { done: 0, doneForGone: 0, queued: 0, busy: 0 };

  constructor(private readonly options: FifoWorkersOptions) {}

  /** How long a job submitted now would wait for a worker: the queue ahead, `workers` at a time. */
  queueWaitMs(): number {
    if (this.counts.busy < this.options.workers) return 0;
    return ((this.counts.queued + 1) / this.options.workers) * this.options.serviceMs();
  }

  submit(job: FifoJob): void {
    this.queue.push(job);
    this.counts.queued++;
    this.dispatch();
  }

  private dispatch(): void {
    while (this.counts.busy < this.options.workers && this.head < this.queue.length) {
      const job = this.queue[this.head] as FifoJob;
      this.queue[this.head] = undefined as unknown as FifoJob; // let the answered job be collected
      this.head++;
      this.counts.queued--;
      this.counts.busy++;
      this.options.schedule(this.options.serviceMs(), () => this.finish(job));
    }
    // Drop the consumed prefix now and then, so the array does not grow for the whole run.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private finish(job: FifoJob): void {
    this.counts.busy--;
    this.counts.done++;
    if (job.gone()) this.counts.doneForGone++;
    else job.answer();
    this.dispatch();
  }
}
