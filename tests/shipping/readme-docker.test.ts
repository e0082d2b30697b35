/** The README's install sections: the Docker path a user can follow from a checkout, offline too. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dir, "../..");
const readme = readFileSync(join(REPO, "README.md"), "utf8");
const install = readme.slice(readme.indexOf("## Install and run:"), readme.indexOf("## Configuration"));
const docker = install.slice(install.indexOf("### 2. Docker"), install.indexOf("### 3. cryptointellect.sh"));

/** Shell lines of the fenced `sh` blocks, with continuation lines joined and comments dropped. */
function commands(text: string): string[] {
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks
    .flatMap((block) => block.replace(/\\\n\s*/g, " ").split("\n"))
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "");
}

describe("README: Docker", () => {
  test("builds the image from the checkout before running it, and runs only that image", () => {
    const lines = commands(docker);
    expect(lines[0]).toBe("docker build -t cryptointellect .");
    const runs = lines.filter((line) => line.startsWith("docker run"));
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) expect(run).toMatch(/ cryptointellect( [a-z-]+.*)?$/);
    expect(install).not.toMatch(/docker (run|pull)[^\n]*ghcr\.io/);
  });

  test("says how to build without an image registry: the local bases, then BUILD_IMAGE", () => {
    const lines = commands(install);
    const bases = lines.findIndex((line) => line.includes("scripts/docker-local-bases.sh"));
    expect(bases).toBeGreaterThan(-1);
    expect(lines.slice(bases)).toContain('docker build -t cryptointellect --build-arg BUILD_IMAGE="$base" .');
  });

  test("runs the service with --user only in a form the image never turns into root", () => {
    // Typed as root, --user "$(id -u):$(id -g)" is 0:0: the image must say it runs as 10001 then.
    for (const run of commands(docker).filter((line) => line.includes("--user"))) expect(run).toContain('--user "$(id -u):$(id -g)"');
    expect(docker).toMatch(/Typed as\s+root, that `--user` is `0:0`: the image then hands `data\/` to uid 10001/);
  });

  test("shows the offline demo in Docker: the simulator's container and the service's sharing its network", () => {
    const lines = commands(docker);
    expect(lines).toContain("docker run -d --name ci-sim -p 8080:8080 cryptointellect simulate");
    expect(lines.some((line) => line.startsWith("docker run -d --name ci-demo --network container:ci-sim "))).toBe(true);
    expect(docker).toContain("binance: http://127.0.0.1:9700/binance");
  });

  test("removes containers with their anonymous /data volume", () => {
    for (const line of commands(install).filter((l) => l.startsWith("docker rm"))) expect(line).toMatch(/^docker rm -f -v /);
  });
});
