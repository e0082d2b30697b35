import { serverAvailable } from "./servers.ts";
import { defineStoreSuite } from "./store-suite.ts";

defineStoreSuite("postgres", await serverAvailable("postgres"));
