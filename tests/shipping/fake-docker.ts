import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * fake-bin/docker stands in for the docker CLI: it records every call (one line, arguments separated
 * by tabs) and answers `info`, `pull`, `build`, `image inspect` (with the image's id for `-f {{.Id}}`),
 * `container inspect`/`inspect` (with the container's settings label), `run`, `rm`, `start`, `stop`,
 * `exec` and `logs` the way the real one would, keeping the container's state in files. Knobs
 * (environment): FAKE_DOCKER_INFO_FAIL, FAKE_DOCKER_PULL_FAIL, FAKE_DOCKER_LOCAL_IMAGE,
 * FAKE_DOCKER_BUILD_FAIL, FAKE_DOCKER_CONFIG_INVALID, FAKE_DOCKER_RUN_FAIL, FAKE_DOCKER_HEALTH,
 * FAKE_DOCKER_IMAGE_VERSION (a newer image pulled or built).
 * fake-bin/id and fake-bin/chown let a test play a non-root user (FAKE_ID_U) or root, whoever runs it;
 * fake-bin/su plays busybox su for the image's entrypoint.
 */
const FAKE_BIN = join(import.meta.dir, "fake-bin");

// What the script needs besides docker: lets a test build a PATH on which docker is missing.
const BASIC_TOOLS = ["cat", "dirname", "basename", "mkdir", "tr", "touch", "env", "sh"];

export interface Sandbox {
  root: string;
  /** The shell's working directory. */
  work: string;
  /** Fake docker, id and chown, first on PATH. */
  bin: string;
  /** Like bin but without docker, and nothing else on PATH. */
  binWithoutDocker: string;
  home: string;
  dockerLog: string;
  chownLog: string;
  state: string;
}

function installFake(name: string, dir: string): void {
  copyFileSync(join(FAKE_BIN, name), join(dir, name));
  chmodSync(join(dir, name), 0o755);
}

function which(tool: string): string {
  const found = Bun.which(tool, { PATH: "/usr/local/bin:/usr/bin:/bin" });
  if (!found) throw new Error(`${tool} not found`);
  return found;
}

export function createSandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), "ci-sh-"));
  const sandbox: Sandbox = {
    root,
    work: join(root, "work"),
    bin: join(root, "bin"),
    binWithoutDocker: join(root, "bin-no-docker"),
    home: join(root, "home"),
    dockerLog: join(root, "docker.log"),
    chownLog: join(root, "chown.log"),
    state: join(root, "state"),
  };
  for (const dir of [sandbox.work, sandbox.bin, sandbox.binWithoutDocker, sandbox.home, sandbox.state]) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(sandbox.dockerLog, "");
  writeFileSync(sandbox.chownLog, "");
  installFake("docker", sandbox.bin);
  for (const bin of [sandbox.bin, sandbox.binWithoutDocker]) {
    installFake("id", bin);
    installFake("chown", bin);
  }
  for (const tool of BASIC_TOOLS) symlinkSync(which(tool), join(sandbox.binWithoutDocker, tool));
  return sandbox;
}

/** Every docker call so far, as argument lists. */
export function dockerCalls(sandbox: Sandbox): string[][] {
  return readFileSync(sandbox.dockerLog, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.split("\t"));
}

export function containerExists(sandbox: Sandbox): boolean {
  return existsSync(join(sandbox.state, "container"));
}
