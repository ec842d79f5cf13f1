import { afterAll } from "bun:test";
import { removeEndOfRunPaths } from "./end-of-run.ts";
import { stopAllClusters } from "./pg/cluster.ts";

// A hook in the preload runs once, after the last test file: PostgreSQL servers stop before
// their folders are removed.
afterAll(async () => {
  await stopAllClusters();
  removeEndOfRunPaths();
});
