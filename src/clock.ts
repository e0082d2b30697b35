/** Time as a dependency: the service, scheduler, limiter and retry loop only see this. */
export interface Clock {
  now(): number;
  /** Resolves after `ms` of this clock's time, or early (without error) when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** How many of this clock's milliseconds pass in a real one (1 when absent): what wall-clock services (the job queue's expiry) are scaled by. */
  speed?: number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/**
 * A clock whose time only moves when asked, for tests that run a day of schedule in a second.
 * `advance` runs due sleepers in time order, letting each one's continuation run before the next.
 */
export interface ManualClock extends Clock {
  set(ms: number): void;
  advance(ms: number): Promise<void>;
  /** Advances to the next pending sleeper's wake time (if any); returns whether one was woken. */
  step(): Promise<boolean>;
  pending(): number;
}

/**
 * The sleepers of a virtual clock, in wake order: `sleep` queues one at `now() + ms` (an abort
 * wakes it at once and drops it); the clock decides when time moves and calls `next`/`shift`.
 */
export function createSleepQueue(now: () => number) {
  let seq = 0;
  const sleepers: { at: number; seq: number; resolve: () => void }[] = [];
  const order = () => sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return {
    sleep(ms: number, signal?: AbortSignal): Promise<void> {
      if (ms <= 0 || signal?.aborted) return Promise.resolve();
      return new Promise((resolve) => {
        const entry = { at: now() + ms, seq: seq++, resolve: () => resolve() };
        sleepers.push(entry);
        signal?.addEventListener(
          "abort",
          () => {
            const i = sleepers.indexOf(entry);
            if (i >= 0) sleepers.splice(i, 1);
            resolve();
          },
          { once: true },
        );
      });
    },
    /** The earliest sleeper, left in the queue. */
    next: () => order()[0],
    /** Removes the earliest sleeper. */
    shift: () => order().shift(),
    size: () => sleepers.length,
  };
}

export function createManualClock(startMs: number): ManualClock {
  let nowMs = startMs;
  const queue = createSleepQueue(() => nowMs);
  const flush = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
    await new Promise((r) => setImmediate(r));
  };
  const wakeDue = async (limit: number) => {
    for (;;) {
      const next = queue.next();
      if (!next || next.at > limit) break;
      queue.shift();
      if (next.at > nowMs) nowMs = next.at;
      next.resolve();
      await flush();
    }
  };
  return {
    now: () => nowMs,
    sleep: queue.sleep,
    set(ms) {
      nowMs = ms;
    },
    async advance(ms) {
      const target = nowMs + ms;
      await wakeDue(target);
      nowMs = Math.max(nowMs, target);
      await flush();
    },
    async step() {
      const next = queue.next();
      if (!next) return false;
      await wakeDue(next.at);
      return true;
    },
    pending: queue.size,
  };
}

/**
 * A clock that runs `speed` times faster than real time from `startMs` (its time at real time
 * `anchorRealMs`). Two processes given the same three numbers share one clock: the service and the
 * simulator run a day of schedule in minutes. A testing aid, set with CRYPTOINTELLECT_TIME_WARP.
 */
export function createScaledClock(anchorRealMs: number, startMs: number, speed: number): Clock {
  const now = () => startMs + (Date.now() - anchorRealMs) * speed;
  return {
    now,
    sleep: (ms, signal) => systemClock.sleep(ms / speed, signal),
    speed,
  };
}

/** Parses CRYPTOINTELLECT_TIME_WARP=`anchorRealMs:startMs:speed`; undefined when unset or malformed. */
export function clockFromEnv(value: string | undefined): Clock | undefined {
  if (!value) return undefined;
  const parts = value.split(":").map(Number);
  if (parts.length !== 3 || !parts.every(Number.isFinite) || parts[2]! <= 0) return undefined;
  return createScaledClock(parts[0]!, parts[1]!, parts[2]!);
}
