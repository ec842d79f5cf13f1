// `bun run bench`: every benchmark in turn, each printing its own table.
// Single benchmarks: bun bench/<name>.ts (see each file's header for its arguments).
import { existsSync } from "node:fs";
import { join } from "node:path";

const benches = ["fsync.ts", "floor.ts", "ingest.ts", "versus-gramio.ts", "worker-floors.ts", "echo-stages.ts", "latency.ts", "pipeline.ts", "statement-timing.ts", "echo-throughput.ts", "waiting-runs.ts", "memory.ts", "memory-floor.ts", "binary.ts", "instances.ts"];
let failed = 0;
for (const file of benches) {
  const path = join(import.meta.dir, file);
  if (!existsSync(path)) continue;
  console.log(`\n=== bench/${file}`);
  const run = Bun.spawnSync([process.execPath, path], { stdout: "inherit", stderr: "inherit" });
  if (run.exitCode !== 0) {
    failed++;
    console.error(`bench/${file} exited with ${run.exitCode}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
