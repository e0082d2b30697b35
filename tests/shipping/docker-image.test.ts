import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

// What can be checked without a Docker engine; scripts/docker-test.sh builds and runs the image.
const REPO = resolve(import.meta.dir, "../..");
const dockerfile = readFileSync(join(REPO, "Dockerfile"), "utf8");
/** Instructions with continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n\s*/g, " ")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));
const finalStage = instructions.slice(instructions.findLastIndex((line) => line.startsWith("FROM ")));

describe("Dockerfile", () => {
  test("takes the base images and the test command as build arguments", () => {
    expect(instructions).toContain("ARG BUILD_IMAGE=oven/bun:1-debian");
    expect(instructions).toContain("ARG RUNTIME_IMAGE=scratch");
    expect(instructions).toContain('ARG TEST_CMD="bun test tests/domain tests/config"');
    expect(instructions).toContain("FROM ${BUILD_IMAGE} AS build");
    expect(finalStage[0]).toBe("FROM ${RUNTIME_IMAGE}");
  });

  test("installs from the lockfile, tests, then compiles", () => {
    const install = instructions.indexOf("RUN bun install --frozen-lockfile");
    const tests = instructions.indexOf('RUN sh -c "$TEST_CMD"');
    const build = instructions.findIndex((line) => line.startsWith("RUN bun run build"));
    expect(install).toBeGreaterThan(-1);
    expect(tests).toBeGreaterThan(install);
    expect(build).toBeGreaterThan(tests);
  });

  test("runs as uid 10001 in /data, a volume, with port, healthcheck and stop signal", () => {
    expect(finalStage).toContain("USER 10001:10001");
    expect(finalStage).toContain("WORKDIR /data");
    expect(finalStage).toContain('VOLUME ["/data"]');
    expect(finalStage).toContain("EXPOSE 8080");
    expect(finalStage).toContain("STOPSIGNAL SIGTERM");
    expect(finalStage.find((line) => line.startsWith("HEALTHCHECK"))).toContain('CMD ["/usr/local/bin/docker-entrypoint.sh", "healthcheck"]');
    expect(finalStage).toContain('ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]');
  });

  test("the final stage copies one prepared filesystem and installs nothing", () => {
    const copies = finalStage.filter((line) => line.startsWith("COPY") || line.startsWith("ADD"));
    expect(copies).toEqual(["COPY --from=rootfs /rootfs/ /"]);
    expect(finalStage.filter((line) => line.startsWith("RUN"))).toEqual([]);
  });

  test(".dockerignore keeps dependencies, builds and data out of the context", () => {
    const ignored = readFileSync(join(REPO, ".dockerignore"), "utf8").split("\n");
    for (const entry of [".git", "node_modules", "dist", "cryptointellect"]) expect(ignored).toContain(entry);
    for (const needed of ["src", "tests", "scripts", "drizzle", "bun.lock", "package.json"]) {
      expect(ignored).not.toContain(needed);
    }
  });
});

describe("docker-entrypoint.sh", () => {
  let root: string;
  let entrypoint: string;
  let dataDir: string;
  let binary: string;
  let chownLog: string;
  let suLog: string;

  // A copy of the entrypoint whose /data, /tmp and binary paths point into a scratch directory; the
  // "binary" prints its arguments and the config variable. fake-bin plays id, chown and su.
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "ci-entrypoint-"));
    dataDir = join(root, "data");
    mkdirSync(dataDir);
    binary = join(root, "cryptointellect");
    chownLog = join(root, "chown.log");
    suLog = join(root, "su.log");
    writeFileSync(chownLog, "");
    writeFileSync(suLog, "");
    writeFileSync(binary, '#!/bin/sh\necho "args=$* config=${CRYPTOINTELLECT_CONFIG:-none}"\n');
    chmodSync(binary, 0o755);
    const text = readFileSync(join(REPO, "scripts/docker-entrypoint.sh"), "utf8")
      .replaceAll("/tmp/", `${root}/`)
      .replaceAll("/usr/local/bin/cryptointellect", binary)
      .replaceAll("/data", dataDir);
    entrypoint = join(root, "entrypoint.sh");
    writeFileSync(entrypoint, text);
    chmodSync(entrypoint, 0o755);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function run(args: string[], env: Record<string, string> = {}): string {
    const proc = Bun.spawnSync(["/bin/sh", entrypoint, ...args], {
      env: { PATH: `${join(import.meta.dir, "fake-bin")}:/usr/bin:/bin`, FAKE_CHOWN_LOG: chownLog, FAKE_SU_LOG: suLog, ...env },
    });
    expect(proc.stderr.toString()).toBe("");
    expect(proc.exitCode).toBe(0);
    return proc.stdout.toString().trim();
  }

  test("sets CRYPTOINTELLECT_CONFIG to /data/config.yml only when the file exists", () => {
    expect(run(["run"])).toBe("args=run config=none");
    writeFileSync(join(dataDir, "config.yml"), "n_coins_to_poll: 1\n");
    expect(run(["run"])).toBe(`args=run config=${join(dataDir, "config.yml")}`);
    expect(run(["healthcheck"])).toBe(`args=healthcheck config=${join(dataDir, "config.yml")}`);
  });

  test("leaves a config chosen by the user alone", () => {
    writeFileSync(join(dataDir, "config.yml"), "n_coins_to_poll: 1\n");
    expect(run(["config"], { CRYPTOINTELLECT_CONFIG: "/etc/mine.yml" })).toBe("args=config config=/etc/mine.yml");
  });

  test("accepts the program's name as the first argument", () => {
    expect(run(["cryptointellect", "config", "-c", "/data/x.yml"])).toBe("args=config -c /data/x.yml config=none");
  });

  test("runs sh and absolute paths as given", () => {
    expect(run(["sh", "-c", "echo shell"])).toBe("shell");
    expect(run(["/bin/echo", "direct"])).toBe("direct");
  });

  test("simulate listens on every interface, so it is reachable from outside the container", () => {
    expect(run(["simulate", "--port", "9800"])).toBe("args=simulate --host 0.0.0.0 --port 9800 config=none");
    expect(run(["cryptointellect", "simulate"])).toBe("args=simulate --host 0.0.0.0 config=none");
    // A --host of the user's comes later on the command line, and the last one wins.
    expect(run(["simulate", "--host", "127.0.0.1"])).toBe("args=simulate --host 0.0.0.0 --host 127.0.0.1 config=none");
  });

  test("as a user other than root it changes no owner and runs the program as that user", () => {
    expect(run(["run"])).toBe("args=run config=none");
    expect(readFileSync(chownLog, "utf8")).toBe("");
    expect(readFileSync(suLog, "utf8")).toBe("");
  });

  test('started as root (--user "$(id -u):$(id -g)" typed as root) it runs the program as uid 10001, never 0', () => {
    mkdirSync(join(dataDir, "cryptointellect"));
    expect(run(["run"], { FAKE_ID_U: "0", FAKE_ID_G: "0" })).toBe("args=run config=none");
    expect(readFileSync(suLog, "utf8")).toBe(`-s /bin/sh cryptointellect -c exec "$0" "$@" ${binary} run\n`);
    // The data it writes is handed to that user first.
    expect(readFileSync(chownLog, "utf8")).toBe(`10001:10001 ${dataDir}\n-R 10001:10001 ${dataDir}/cryptointellect\n`);

    writeFileSync(suLog, "");
    writeFileSync(chownLog, "");
    expect(run(["healthcheck"], { FAKE_ID_U: "0", FAKE_ID_G: "0" })).toBe("args=healthcheck config=none");
    expect(readFileSync(suLog, "utf8")).toBe(`-s /bin/sh cryptointellect -c exec "$0" "$@" ${binary} healthcheck\n`);
    expect(readFileSync(chownLog, "utf8")).toBe("");
  });

  test("started as root with a config only root may read, the program gets a private copy for uid 10001", () => {
    const config = join(dataDir, "config.yml");
    writeFileSync(config, "n_coins_to_poll: 1\n", { mode: 0o600 });
    const env = { FAKE_ID_U: "0", FAKE_ID_G: "0", FAKE_UNREADABLE: config };
    const copy = join(root, "cryptointellect-config.yml");
    expect(run(["run"], env)).toBe(`args=run config=${copy}`);
    expect(readFileSync(copy, "utf8")).toBe("n_coins_to_poll: 1\n");
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(readFileSync(chownLog, "utf8")).toContain(`10001:10001 ${copy}\n`);
    // The health probe reads its own copy.
    expect(run(["healthcheck"], env)).toBe(`args=healthcheck config=${join(root, "cryptointellect-config.healthcheck.yml")}`);
    // One the user may read is used as it is.
    expect(run(["run"], { FAKE_ID_U: "0", FAKE_ID_G: "0" })).toBe(`args=run config=${config}`);
  });
});
