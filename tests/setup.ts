// Loaded before every test file (bunfig.toml): database, process and end-to-end tests talk to real
// servers and processes on a shared 2-core machine, so a test gets a minute, not Bun's default 5 s.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(60_000);
