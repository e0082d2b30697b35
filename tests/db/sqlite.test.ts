import { serverAvailable } from "./servers.ts";
import { defineStoreSuite } from "./store-suite.ts";

defineStoreSuite("sqlite", await serverAvailable("sqlite"));
