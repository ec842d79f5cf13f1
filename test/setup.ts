import { afterAll } from "bun:test";
import { removeEndOfRunPaths } from "./end-of-run.ts";
import { stopAllClusters } from "./pg/cluster.ts";

// A hook in the preload runs once, after the last test file: PostgreSQL servers stop before
// their folders are removed.
// Its own timeout: the preload gets bun's 5 s default, and a fast shutdown checkpoints every test
// database of the shared cluster (fsync on), which can take longer on a busy 2-core machine.
afterAll(
  async () => {
    await stopAllClusters();
    removeEndOfRunPaths();
  },
  { timeout: 60_000 },
);
