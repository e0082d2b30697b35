/** What the figures were measured on. */
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import type { Machine } from "./results.ts";

export function describeMachine(): Machine {
  const cpuinfo = safeRead("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown";
  const nproc = Bun.spawnSync(["nproc"]).stdout.toString().trim();
  const git = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: import.meta.dir })
    .stdout.toString()
    .trim();
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: import.meta.dir })
    .stdout.toString()
    .trim();
  return {
    cores: Number(nproc) || cpus().length,
    model,
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    os: `${process.platform} ${release()} ${process.arch}`,
    bun: Bun.version,
    commit: git ? `${git}${dirty ? " (with uncommitted changes)" : ""}` : "unknown",
  };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
