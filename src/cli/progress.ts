/**
 * Progress of long work per exchange: on a TTY one redrawn bar per exchange with candles done,
 * rate and ETA; otherwise a plain log line per exchange at most every `intervalMs`.
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../telemetry/log.ts";

import type { Progress } from "../pipeline/backfill.ts";

export type { Progress };

interface Counter {
  total: number;
  done: number;
  startedMs: number;
}

export function createProgress(options: { clock: Clock; logger: Logger; tty: boolean; write?: (text: string) => void; intervalMs?: number }): Progress {
  const { clock, logger, tty } = options;
  const write = options.write ?? ((t: string) => process.stderr.write(t));
  const intervalMs = options.intervalMs ?? 10_000;
  const counters = new Map<string, Counter>();
  let lastDrawMs = -Infinity;
  let drawnLines = 0;

  const line = (key: string, c: Counter, now: number) => {
    const seconds = Math.max(0.001, (now - c.startedMs) / 1000);
    const rate = c.done / seconds;
    const left = Math.max(0, c.total - c.done);
    const eta = rate > 0 ? formatDuration(left / rate) : "?";
    const share = c.total > 0 ? c.done / c.total : 1;
    return { share, text: `${key.padEnd(9)} ${c.done}/${c.total} candles ${(share * 100).toFixed(1)}% ${Math.round(rate)}/s ETA ${left === 0 ? "0s" : eta}` };
  };

  const draw = (force: boolean) => {
    const now = clock.now();
    if (!force && now - lastDrawMs < (tty ? 200 : intervalMs)) return;
    lastDrawMs = now;
    if (tty) {
      let out = drawnLines > 0 ? `\u001b[${drawnLines}A` : "";
      for (const [key, c] of counters) {
        const l = line(key, c, now);
        const width = 24;
        const filled = Math.round(l.share * width);
        out += `\u001b[2K[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${l.text}\n`;
      }
      drawnLines = counters.size;
      write(out);
    } else {
      for (const [key, c] of counters) logger.info("backfill progress", { exchange: key, progress: line(key, c, now).text.slice(key.length).trim() });
    }
  };

  return {
    setTotal(key, total) {
      const c = counters.get(key);
      if (c) c.total = total;
      else counters.set(key, { total, done: 0, startedMs: clock.now() });
    },
    add(key, done) {
      const c = counters.get(key);
      if (!c) return;
      c.done += done;
      draw(false);
    },
    finish() {
      draw(true);
    },
  };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
