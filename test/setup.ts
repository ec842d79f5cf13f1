import { afterAll, setDefaultTimeout } from "bun:test";
import { removeEndOfRunPaths } from "./end-of-run.ts";

setDefaultTimeout(60_000);

// A hook in the preload runs once, after the last test file.
afterAll(removeEndOfRunPaths);
