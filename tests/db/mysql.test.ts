import { serverAvailable } from "./servers.ts";
import { defineStoreSuite } from "./store-suite.ts";

defineStoreSuite("mysql", await serverAvailable("mysql"));
