import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { containerExists, createSandbox, dockerCalls, type Sandbox } from "./fake-docker.ts";

const REPO = resolve(import.meta.dir, "../..");
const SCRIPT = join(REPO, "cryptointellect.sh");
const CI_FUNCTIONS = ["ci_attach", "ci_logs", "ci_start", "ci_status", "ci_stop"];
const DEFAULT_IMAGE = "ghcr.io/cryptointellect/cryptointellect:latest";

type Shell = "bash" | "zsh";
const SHELLS: Shell[] = ["bash", "zsh"];
const SHELL_PATH: Record<Shell, string> = { bash: Bun.which("bash") ?? "bash", zsh: Bun.which("zsh") ?? "zsh" };
const hasZsh = Bun.which("zsh") !== null;

interface RunOptions {
  env?: Record<string, string>;
  interactive?: boolean;
  /** PATH entries before the system ones; defaults to the sandbox's fake bin. */
  path?: string;
}

interface ShellResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * `snap FILE` writes what a sourced script could change in the calling shell: options, flags, traps,
 * umask, working directory, variables with their values, functions and aliases.
 */
const SNAPSHOT_FUNCTION: Record<Shell, string> = {
  bash: `snap() { { set -o; echo "flags=$-"; shopt; trap -p; umask; pwd; declare -p; declare -F; alias; } >"$1" 2>&1; }`,
  zsh: `snap() { { setopt; echo "flags=$-"; trap; umask; pwd; typeset -p; print -l \${(ok)functions}; alias; } >"$1" 2>&1; }`,
};

// Variables a shell changes by itself between two commands.
const DYNAMIC = new Set([
  "_",
  "BASH_ARGC",
  "BASH_ARGV",
  "BASH_LINENO",
  "BASH_SOURCE",
  "BASH_COMMAND",
  "BASH_REMATCH",
  "BASHPID",
  "FUNCNAME",
  "LINENO",
  "RANDOM",
  "SRANDOM",
  "SECONDS",
  "EPOCHREALTIME",
  "EPOCHSECONDS",
  "PIPESTATUS",
  "HISTCMD",
  "COLUMNS",
  "LINES",
  "funcstack",
  "funcfiletrace",
  "funcsourcetrace",
  "functrace",
  "functions",
  "pipestatus",
  "status",
  "?",
  "TTYIDLE",
  "ZSH_EVAL_CONTEXT",
  "zsh_eval_context",
  "ZSH_SUBSHELL",
  "ERRNO",
  "argv",
  "ARGC",
  "#",
  "*",
  "@",
  "0",
]);

function variableName(line: string): string | undefined {
  const match = /^(?:declare|typeset|export|readonly|local)(?: -\S+)* ([^=\s]+)/.exec(line);
  return match?.[1]?.replace(/^'|'$/g, "");
}

function snapshotLines(text: string): string[] {
  return text.split("\n").filter((line) => {
    const name = variableName(line);
    return name === undefined || !DYNAMIC.has(name);
  });
}

let sandbox: Sandbox;
beforeEach(() => {
  sandbox = createSandbox();
});
afterEach(() => {
  rmSync(sandbox.root, { recursive: true, force: true });
});

function runShell(shell: Shell, script: string, options: RunOptions = {}): ShellResult {
  const argv =
    shell === "bash"
      ? [SHELL_PATH.bash, "--norc", "--noprofile", ...(options.interactive ? ["-i"] : []), "-s"]
      : [SHELL_PATH.zsh, "-f", ...(options.interactive ? ["-i"] : []), "-s"];
  const path = options.path ?? `${sandbox.bin}:/usr/local/bin:/usr/bin:/bin`;
  const proc = Bun.spawnSync(argv, {
    cwd: sandbox.work,
    stdin: Buffer.from(`${SNAPSHOT_FUNCTION[shell]}\n${script}\n`),
    env: {
      PATH: path,
      HOME: sandbox.home,
      LANG: "C",
      TERM: "dumb",
      PS1: "",
      CI_SH: SCRIPT,
      FAKE_DOCKER_LOG: sandbox.dockerLog,
      FAKE_DOCKER_STATE: sandbox.state,
      FAKE_CHOWN_LOG: sandbox.chownLog,
      ...options.env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { exitCode: proc.exitCode ?? -1, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

/** Sources the script with `args`, then prints `rc=N` and `alive` so a test sees the shell go on. */
function source(shell: Shell, args: string, options: RunOptions = {}): ShellResult & { rc: number } {
  const result = runShell(shell, `source "$CI_SH" ${args}\necho "rc=$?"\necho alive`, options);
  const rc = /rc=(\d+)/.exec(result.stdout);
  expect(result.stdout).toContain("alive");
  return { ...result, rc: rc ? Number(rc[1]) : -1 };
}

function writeConfig(name = "config.yml"): string {
  const file = join(sandbox.work, name);
  writeFileSync(file, "bucketing_interval: 5m\nexchanges: [Binance]\n");
  return file;
}

function callsOf(verb: string): string[][] {
  return dockerCalls(sandbox).filter((call) => call[0] === verb);
}

function detachedRuns(): string[][] {
  return callsOf("run").filter((call) => call.includes("-d"));
}

function definedFunctions(shell: Shell, script: string, options: RunOptions = {}): string[] {
  const list = shell === "bash" ? "declare -F | awk '{print $3}'" : "print -l ${(k)functions}";
  const result = runShell(shell, `${script}\necho ---\n${list}`, options);
  const after = result.stdout.split("---\n")[1] ?? "";
  return after
    .split("\n")
    .filter((name) => name.startsWith("ci_") || name.startsWith("__cryptointellect"))
    .sort();
}

/** Runs `script` between two snapshots and returns the lines that changed, dynamic variables aside. */
function shellChanges(shell: Shell, setup: string, script: string, options: RunOptions = {}) {
  const before = join(sandbox.root, "before.txt");
  const after = join(sandbox.root, "after.txt");
  const result = runShell(shell, `${setup}\nsnap "${before}"\n${script}\nsnap "${after}"\necho alive`, options);
  expect(result.stdout).toContain("alive");
  const beforeLines = snapshotLines(readFileSync(before, "utf8"));
  const afterLines = snapshotLines(readFileSync(after, "utf8"));
  return {
    result,
    added: afterLines.filter((line) => !beforeLines.includes(line)),
    removed: beforeLines.filter((line) => !afterLines.includes(line)),
  };
}

describe.each(SHELLS)("cryptointellect.sh in %s", (shell) => {
  const skip = shell === "zsh" && !hasZsh;

  test.skipIf(skip)("-h in an interactive shell with set -u prints help and changes nothing", () => {
    const setup = "set -u";
    const { result, added, removed } = shellChanges(shell, setup, `source "$CI_SH" -h >help.txt\necho "rc=$?"`, {
      interactive: true,
    });
    expect(result.stdout).toContain("rc=0");
    const help = readFileSync(join(sandbox.work, "help.txt"), "utf8");
    expect(help).toContain("Usage: source cryptointellect.sh");
    for (const flag of ["--config", "--alias", "--image", "--port", "--dir", "--build", "--no-pull", "--help"]) {
      expect(help).toContain(flag);
    }
    expect(added).toEqual([]);
    expect(removed).toEqual([]);
    expect(dockerCalls(sandbox)).toEqual([]);
  });

  test.skipIf(skip)("keeps errexit, nounset and pipefail of the caller even when it fails", () => {
    const setup = shell === "bash" ? "set -eu -o pipefail" : "set -eu -o pipefail";
    writeFileSync(join(sandbox.work, "config.yml"), "bucketing_interval: 0m\n");
    const { result, added, removed } = shellChanges(shell, setup, `source "$CI_SH" -c config.yml || echo "rc=$?"`, { env: { FAKE_DOCKER_CONFIG_INVALID: "1" } });
    expect(result.stdout).toContain("rc=1");
    expect(added).toEqual([]);
    expect(removed).toEqual([]);
  });

  test.skipIf(skip)("a full run leaks nothing but the ci_* functions", () => {
    writeConfig();
    const { result, added, removed } = shellChanges(shell, "set -u", `source "$CI_SH" -c config.yml\necho "rc=$?"`);
    expect(result.stdout).toContain("rc=0");
    expect(removed).toEqual([]);
    const expected = shell === "bash" ? CI_FUNCTIONS.map((name) => `declare -f ${name}`) : CI_FUNCTIONS;
    expect(added.sort()).toEqual(expected);
  });

  test.skipIf(skip)("aliases and functions named like the tools it uses change nothing", () => {
    const config = writeConfig();
    const shadows = [
      "alias mkdir='echo ALIASED'",
      "alias cat='echo ALIASED'",
      "alias basename='echo ALIASED'",
      "cd() { echo SHADOWED; }",
      "printf() { echo SHADOWED; }",
      "dirname() { echo SHADOWED; }",
      "id() { echo 4242; }",
    ].join("\n");
    const run = runShell(shell, `${shadows}\nsource "$CI_SH" -h\nsource "$CI_SH" -c config.yml\necho "rc=$?"`, {
      interactive: true,
    });
    expect(run.stdout).toContain("Usage: source cryptointellect.sh");
    expect(run.stdout).toContain("rc=0");
    expect(run.stdout).not.toContain("ALIASED");
    expect(run.stdout).not.toContain("SHADOWED");
    const create = detachedRuns()[0];
    expect(create).toContain(`${config}:/data/config.yml:ro`);
    expect(create).toContain("1000:1000");
    expect(existsSync(join(sandbox.work, "cryptointellect", "csv"))).toBe(true);
  });

  test.skipIf(skip)("a missing config returns 1 with a message and creates nothing", () => {
    const run = source(shell, "-c missing.yml");
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("config file not found: missing.yml");
    expect(existsSync(join(sandbox.work, "cryptointellect"))).toBe(false);
    expect(callsOf("pull")).toEqual([]);
    expect(callsOf("run")).toEqual([]);
    expect(definedFunctions(shell, `source "$CI_SH" -c missing.yml`)).toEqual([]);
  });

  test.skipIf(skip)("returns 1 with a message when docker is not installed", () => {
    writeConfig();
    const run = source(shell, "-c config.yml", { path: sandbox.binWithoutDocker });
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("docker not found");
    expect(existsSync(join(sandbox.work, "cryptointellect"))).toBe(false);
  });

  test.skipIf(skip)("returns 1 with a message when the Docker engine cannot be reached", () => {
    writeConfig();
    const run = source(shell, "-c config.yml", { env: { FAKE_DOCKER_INFO_FAIL: "1" } });
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("cannot reach the Docker engine");
    expect(callsOf("pull")).toEqual([]);
  });

  test.skipIf(skip)("an invalid config returns 1, shows why and creates no container", () => {
    writeConfig();
    const run = source(shell, "-c config.yml", { env: { FAKE_DOCKER_CONFIG_INVALID: "1" } });
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("bucketing_interval: must be at least 1 minute");
    expect(run.stderr).toContain("config config.yml is not valid");
    expect(detachedRuns()).toEqual([]);
    expect(containerExists(sandbox)).toBe(false);
    expect(existsSync(join(sandbox.work, "cryptointellect"))).toBe(false);
  });

  test.skipIf(skip)("pulls, validates the config with the image, then creates the container", () => {
    const config = writeConfig();
    const run = source(shell, "-c config.yml");
    expect(run.rc).toBe(0);
    const verbs = dockerCalls(sandbox).map((call) => call[0]);
    expect(verbs).toEqual(["info", "pull", "image", "run", "container", "run"]);
    const [validate, create] = callsOf("run");
    expect(validate).toContain("--rm");
    expect(validate).toContain(`${config}:/data/config.yml:ro`);
    expect(validate?.slice(-4)).toEqual([DEFAULT_IMAGE, "config", "-c", "/data/config.yml"]);
    expect(create).toEqual([
      "run",
      "-d",
      "--name",
      "cryptointellect_container",
      "--restart",
      "unless-stopped",
      "--label",
      expect.stringMatching(/^cryptointellect\.sh\.settings=\d+$/) as unknown as string,
      "-p",
      "8080:8080",
      "-v",
      `${join(sandbox.work, "cryptointellect")}:/data/cryptointellect`,
      "-v",
      `${config}:/data/config.yml:ro`,
      "--user",
      "1000:1000",
      DEFAULT_IMAGE,
    ]);
    expect(statSync(join(sandbox.work, "cryptointellect", "csv")).isDirectory()).toBe(true);
    expect(readFileSync(sandbox.chownLog, "utf8")).toBe("");
  });

  test.skipIf(skip)("sourcing twice creates one container and keeps it", () => {
    writeConfig();
    const run = runShell(shell, `source "$CI_SH" -c config.yml\nsource "$CI_SH" -c config.yml\necho "rc=$?"`);
    expect(run.stdout).toContain("rc=0");
    expect(detachedRuns()).toHaveLength(1);
    expect(run.stdout).toContain("already running");
    expect(callsOf("start")).toEqual([]);
  });

  test.skipIf(skip)("starts the existing container when it was stopped", () => {
    writeConfig();
    const run = runShell(shell, `source "$CI_SH" -c config.yml\nci_stop\nsource "$CI_SH" -c config.yml\necho "rc=$?"`);
    expect(run.stdout).toContain("rc=0");
    expect(detachedRuns()).toHaveLength(1);
    expect(callsOf("start")).toEqual([["start", "cryptointellect_container"]]);
  });

  test.skipIf(skip)("--image, --port and --dir go into every docker call", () => {
    writeConfig("my.yml");
    const run = source(shell, "--config=my.yml --image example.org/ci:1.2 --port 127.0.0.1:9090 --dir data");
    expect(run.rc).toBe(0);
    expect(callsOf("pull")).toEqual([["pull", "example.org/ci:1.2"]]);
    const [validate, create] = callsOf("run");
    expect(validate).toContain("example.org/ci:1.2");
    expect(create).toContain("127.0.0.1:9090:8080");
    expect(create).toContain(`${join(sandbox.work, "data")}:/data/cryptointellect`);
    expect(create?.at(-1)).toBe("example.org/ci:1.2");
    expect(existsSync(join(sandbox.work, "data", "csv"))).toBe(true);
    expect(existsSync(join(sandbox.work, "cryptointellect"))).toBe(false);
  });

  test.skipIf(skip)("CRYPTOINTELLECT_IMAGE replaces the default image", () => {
    writeConfig();
    const run = source(shell, "-c config.yml", { env: { CRYPTOINTELLECT_IMAGE: "local/ci:dev" } });
    expect(run.rc).toBe(0);
    expect(callsOf("pull")).toEqual([["pull", "local/ci:dev"]]);
  });

  test.skipIf(skip)("uses ./config.yml when no -c is given, and the defaults when there is none", () => {
    const config = writeConfig();
    expect(source(shell, "").rc).toBe(0);
    expect(callsOf("run")[0]).toContain(`${config}:/data/config.yml:ro`);

    rmSync(config);
    rmSync(sandbox.state, { recursive: true });
    writeFileSync(sandbox.dockerLog, "");
    const run = source(shell, "");
    expect(run.rc).toBe(0);
    expect(run.stdout).toContain("built-in defaults");
    expect(callsOf("run")).toHaveLength(1);
    expect(callsOf("run")[0]?.join(" ")).not.toContain("config.yml");
  });

  test.skipIf(skip)("--build builds from the checkout instead of pulling", () => {
    const checkout = join(sandbox.root, "checkout");
    mkdirSync(checkout);
    copyFileSync(SCRIPT, join(checkout, "cryptointellect.sh"));
    writeFileSync(join(checkout, "Dockerfile"), "FROM scratch\n");
    writeConfig();
    const run = runShell(shell, `source "${checkout}/cryptointellect.sh" -c config.yml --build\necho "rc=$?"`);
    expect(run.stdout).toContain("rc=0");
    expect(callsOf("pull")).toEqual([]);
    expect(callsOf("build")).toEqual([["build", "-t", "cryptointellect:local", checkout]]);
    expect(detachedRuns()[0]?.at(-1)).toBe("cryptointellect:local");
  });

  test.skipIf(skip)("--build fails clearly where there is no Dockerfile beside the script", () => {
    const elsewhere = join(sandbox.root, "elsewhere");
    mkdirSync(elsewhere);
    copyFileSync(SCRIPT, join(elsewhere, "cryptointellect.sh"));
    writeConfig();
    const run = runShell(shell, `source "${elsewhere}/cryptointellect.sh" -c config.yml --build\necho "rc=$?"`);
    expect(run.stdout).toContain("rc=1");
    expect(run.stderr).toContain("--build needs the source checkout");
    expect(callsOf("build")).toEqual([]);
  });

  test.skipIf(skip)("a failed pull falls back to a local copy of the image", () => {
    writeConfig();
    const withCopy = source(shell, "-c config.yml", {
      env: { FAKE_DOCKER_PULL_FAIL: "1", FAKE_DOCKER_LOCAL_IMAGE: "1" },
    });
    expect(withCopy.rc).toBe(0);
    expect(withCopy.stdout).toContain("using the local copy");
    expect(callsOf("build")).toEqual([]);
  });

  test.skipIf(skip)("an image it cannot pull and does not have is built from the checkout, saying so, with --build-arg passed", () => {
    writeConfig();
    const run = source(shell, "-c config.yml --build-arg BUILD_IMAGE=local/bun:1 --build-arg=TEST_CMD=true", {
      env: { FAKE_DOCKER_PULL_FAIL: "1" },
    });
    expect(run.rc).toBe(0);
    expect(run.stdout).toContain(`cannot pull ${DEFAULT_IMAGE} (Error response from daemon: pull access denied`);
    expect(run.stdout).toContain(`building cryptointellect:local from the checkout ${REPO} instead`);
    expect(callsOf("build")).toEqual([["build", "-t", "cryptointellect:local", "--build-arg", "BUILD_IMAGE=local/bun:1", "--build-arg", "TEST_CMD=true", REPO]]);
    expect(detachedRuns()[0]?.at(-1)).toBe("cryptointellect:local");
  });

  test.skipIf(skip)("without a checkout beside it, an image it cannot pull is an error", () => {
    const elsewhere = join(sandbox.root, "elsewhere");
    mkdirSync(elsewhere);
    copyFileSync(SCRIPT, join(elsewhere, "cryptointellect.sh"));
    writeConfig();
    const run = runShell(shell, `source "${elsewhere}/cryptointellect.sh" -c config.yml\necho "rc=$?"`, {
      env: { FAKE_DOCKER_PULL_FAIL: "1" },
    });
    expect(run.stdout).toContain("rc=1");
    expect(run.stderr).toContain(`cannot pull ${DEFAULT_IMAGE}, there is no local copy, and no checkout`);
    expect(callsOf("build")).toEqual([]);
    expect(callsOf("run")).toEqual([]);
  });

  test.skipIf(skip)("a failed build says how to build without an image registry", () => {
    writeConfig();
    const run = source(shell, "-c config.yml --build", { env: { FAKE_DOCKER_BUILD_FAIL: "1" } });
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("scripts/docker-local-bases.sh");
    expect(run.stderr).toContain("--build-arg BUILD_IMAGE=NAME");
    expect(detachedRuns()).toEqual([]);
  });

  test.skipIf(skip)("-e, --network and --add-host reach the container; -e reaches the config check too", () => {
    writeConfig();
    const run = source(shell, "-c config.yml -e DATABASE_URL=postgres://db.example/ --env=TZ --network ci-net --add-host host.docker.internal:host-gateway");
    expect(run.rc).toBe(0);
    const [validate, create] = callsOf("run");
    expect(validate?.join(" ")).toContain("-e DATABASE_URL=postgres://db.example/ -e TZ");
    expect(validate?.join(" ")).toContain("--network none");
    expect(create?.join(" ")).toContain("--network ci-net --add-host host.docker.internal:host-gateway -e DATABASE_URL=postgres://db.example/ -e TZ " + DEFAULT_IMAGE);
  });

  test.skipIf(skip)("running it again with another --port or --dir recreates the container and its /data volume", () => {
    writeConfig();
    const run = runShell(
      shell,
      [`source "$CI_SH" -c config.yml`, `source "$CI_SH" -c config.yml --port 9090`, `source "$CI_SH" -c config.yml --port 9090 --dir other`, `echo "rc=$?"`].join("\n"),
    );
    expect(run.stdout).toContain("rc=0");
    expect(run.stdout).toContain("was made with other settings (options, image or config): recreating it");
    expect(callsOf("rm")).toEqual([
      ["rm", "-f", "-v", "cryptointellect_container"],
      ["rm", "-f", "-v", "cryptointellect_container"],
    ]);
    const creates = detachedRuns();
    expect(creates).toHaveLength(3);
    expect(creates[1]).toContain("9090:8080");
    expect(creates[2]).toContain(`${join(sandbox.work, "other")}:/data/cryptointellect`);
    expect(containerExists(sandbox)).toBe(true);
  });

  test.skipIf(skip)("a newer image or an edited config recreates the container; nothing changed keeps it", () => {
    writeConfig();
    const run = runShell(
      shell,
      [
        `source "$CI_SH" -c config.yml`,
        `source "$CI_SH" -c config.yml`,
        "export FAKE_DOCKER_IMAGE_VERSION=2",
        `source "$CI_SH" -c config.yml`,
        `echo "n_coins_to_poll: 3" >>config.yml`,
        `source "$CI_SH" -c config.yml`,
        `echo "rc=$?"`,
      ].join("\n"),
    );
    expect(run.stdout).toContain("rc=0");
    expect(run.stdout).toContain("already running with these settings");
    expect(callsOf("rm")).toHaveLength(2);
    expect(detachedRuns()).toHaveLength(3);
  });

  test.skipIf(skip)("as root, a config only root may read reaches uid 10001 as a 0600 copy; the file stays as it was", () => {
    const config = writeConfig();
    chmodSync(config, 0o600);
    const run = source(shell, "-c config.yml", { env: { FAKE_ID_U: "0", FAKE_ID_G: "0" } });
    expect(run.rc).toBe(0);
    const data = join(sandbox.work, "cryptointellect");
    const copy = join(data, ".config.yml");
    expect(run.stdout).toContain(`it reads a copy, ${copy} (mode 0600`);
    // The config check reads a temporary copy (nothing is created before it passes), the container this one.
    const [validate, create] = callsOf("run");
    expect(validate?.join(" ")).toMatch(/ -v \S+\/config\.yml:\/data\/config\.yml:ro /);
    expect(validate?.join(" ")).not.toContain(`${config}:`);
    expect(create).toContain(`${copy}:/data/config.yml:ro`);
    expect(readFileSync(copy, "utf8")).toBe(readFileSync(config, "utf8"));
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    // The copy is handed to uid 10001 before the check; its temporary folder is gone afterwards.
    const handed = /^10001:10001 (\S+\/config\.yml)$/m.exec(readFileSync(sandbox.chownLog, "utf8"))?.[1];
    expect(validate).toContain(`${handed}:/data/config.yml:ro`);
    expect(existsSync(handed ?? "")).toBe(false);
    expect(detachedRuns()[0]).not.toContain("--user");
  });

  test.skipIf(skip)("a config the container may read is mounted as it is, and a stale copy is removed", () => {
    const config = writeConfig();
    const copy = join(sandbox.work, "cryptointellect", ".config.yml");
    mkdirSync(join(sandbox.work, "cryptointellect"));
    writeFileSync(copy, "old: copy\n");
    chmodSync(config, 0o644);
    const run = source(shell, "-c config.yml", { env: { FAKE_ID_U: "0", FAKE_ID_G: "0" } });
    expect(run.rc).toBe(0);
    expect(detachedRuns()[0]).toContain(`${config}:/data/config.yml:ro`);
    expect(existsSync(copy)).toBe(false);
  });

  test.skipIf(skip)("--no-pull uses the local image, and fails clearly without one", () => {
    writeConfig();
    const withImage = source(shell, "-c config.yml --no-pull", { env: { FAKE_DOCKER_LOCAL_IMAGE: "1" } });
    expect(withImage.rc).toBe(0);
    expect(callsOf("pull")).toEqual([]);
    expect(detachedRuns()).toHaveLength(1);

    rmSync(sandbox.state, { recursive: true });
    writeFileSync(sandbox.dockerLog, "");
    const without = source(shell, "-c config.yml --no-pull");
    expect(without.rc).toBe(1);
    expect(without.stderr).toContain(`no image ${DEFAULT_IMAGE} on this machine (--no-pull)`);
    expect(callsOf("pull")).toEqual([]);
    expect(callsOf("run")).toEqual([]);
  });

  test.skipIf(skip)("a failing docker run returns 1", () => {
    writeConfig();
    const run = source(shell, "-c config.yml", { env: { FAKE_DOCKER_RUN_FAIL: "1" } });
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("docker run failed");
  });

  test.skipIf(skip)("as root it keeps the image's user and hands the data directory to uid 10001", () => {
    writeConfig();
    const run = source(shell, "-c config.yml", { env: { FAKE_ID_U: "0", FAKE_ID_G: "0" } });
    expect(run.rc).toBe(0);
    expect(detachedRuns()[0]).not.toContain("--user");
    const data = join(sandbox.work, "cryptointellect");
    expect(readFileSync(sandbox.chownLog, "utf8")).toBe(`10001:10001 ${data} ${data}/csv\n`);
  });

  test.skipIf(skip)("--alias defines the functions and touches no container", () => {
    const run = source(shell, "--alias");
    expect(run.rc).toBe(0);
    expect(dockerCalls(sandbox)).toEqual([]);
    expect(definedFunctions(shell, `source "$CI_SH" -a`)).toEqual(CI_FUNCTIONS);
  });

  test.skipIf(skip)("the ci_* functions drive cryptointellect_container", () => {
    const run = runShell(
      shell,
      [
        `source "$CI_SH" -a`,
        "ci_start",
        "ci_attach",
        "ci_attach ls /data",
        "ci_logs",
        "ci_logs --since 5m",
        `ci_status; echo "status=$?"`,
        "ci_stop",
        `ci_status; echo "status=$?"`,
      ].join("\n"),
    );
    expect(dockerCalls(sandbox)).toEqual([
      ["start", "cryptointellect_container"],
      ["exec", "-i", "cryptointellect_container", "sh"],
      ["exec", "-i", "cryptointellect_container", "ls", "/data"],
      ["logs", "--tail", "100", "-f", "cryptointellect_container"],
      ["logs", "--since", "5m", "cryptointellect_container"],
      ["inspect", "-f", expect.stringContaining(".State.Health.Status") as unknown as string, "cryptointellect_container"],
      ["stop", "cryptointellect_container"],
      ["inspect", "-f", expect.stringContaining(".State.Status") as unknown as string, "cryptointellect_container"],
    ]);
    expect(run.stdout).toContain("running (healthy)\nstatus=0");
    expect(run.stdout).toContain("exited\nstatus=1");
  });

  test.skipIf(skip)("ci_status fails while the container is unhealthy", () => {
    const run = runShell(shell, `source "$CI_SH" -a\nci_start >/dev/null\nci_status; echo "status=$?"`, {
      env: { FAKE_DOCKER_HEALTH: "unhealthy" },
    });
    expect(run.stdout).toContain("running (unhealthy)\nstatus=1");
  });

  test.skipIf(skip)("bad usage returns 2 and names the problem", () => {
    const unknown = source(shell, "--frobnicate");
    expect(unknown.rc).toBe(2);
    expect(unknown.stderr).toContain("unknown argument: --frobnicate");
    const missing = source(shell, "-c");
    expect(missing.rc).toBe(2);
    expect(missing.stderr).toContain("-c needs a value");
    const port = source(shell, "--port http");
    expect(port.rc).toBe(2);
    expect(dockerCalls(sandbox)).toEqual([]);
  });
});

describe("cryptointellect.sh run as a program", () => {
  function runScript(shell: Shell, args: string[], env: Record<string, string> = {}) {
    const proc = Bun.spawnSync([SHELL_PATH[shell], SCRIPT, ...args], {
      cwd: sandbox.work,
      env: {
        PATH: `${sandbox.bin}:/usr/local/bin:/usr/bin:/bin`,
        HOME: sandbox.home,
        FAKE_DOCKER_LOG: sandbox.dockerLog,
        FAKE_DOCKER_STATE: sandbox.state,
        FAKE_CHOWN_LOG: sandbox.chownLog,
        ...env,
      },
    });
    return { exitCode: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
  }

  test.each(SHELLS)("%s cryptointellect.sh exits with the status: 0 for help, 1 for a missing config, 2 for bad usage", (shell) => {
    if (shell === "zsh" && !hasZsh) return;
    expect(runScript(shell, ["--help"]).exitCode).toBe(0);
    expect(runScript(shell, ["-c", "nope.yml"]).exitCode).toBe(1);
    expect(runScript(shell, ["--nope"]).exitCode).toBe(2);
  });

  test("bash cryptointellect.sh sets up the container and says the functions need source", () => {
    writeConfig();
    const run = runScript("bash", ["-c", "config.yml"]);
    expect(run.exitCode).toBe(0);
    expect(detachedRuns()).toHaveLength(1);
    expect(run.stdout).toContain("source the script");
  });

  test("refuses a shell that is neither bash nor zsh", () => {
    const proc = Bun.spawnSync(["sh", SCRIPT, "-h"], { cwd: sandbox.work });
    expect(proc.exitCode).toBe(1);
    expect(proc.stderr.toString()).toContain("needs bash or zsh");
  });
});

describe("shell scripts", () => {
  const shellcheck = Bun.which("shellcheck");
  test.skipIf(shellcheck === null)("pass shellcheck", () => {
    const glob = new Bun.Glob("scripts/docker-*.sh");
    const scripts = ["cryptointellect.sh", ...glob.scanSync({ cwd: REPO })];
    const fakes = ["docker", "id", "chown", "su"].map((name) => `tests/shipping/fake-bin/${name}`);
    const proc = Bun.spawnSync([shellcheck ?? "shellcheck", "--severity=style", ...scripts, ...fakes], { cwd: REPO });
    expect(proc.stdout.toString() + proc.stderr.toString()).toBe("");
    expect(proc.exitCode).toBe(0);
  });
});
