import { plugin } from "bun";
import * as agentApi from "../runtime/context.ts";

let provided = false;

/**
 * Makes `import { AskTimeoutError, ... } from "timbre"` in an agent module resolve to this
 * process's own agent API: the same classes, so `instanceof` works on both sides. A virtual
 * module, so it works from source and from the compiled binary, with nothing installed beside
 * the agent. Call before importing the agent; later calls do nothing.
 */
export function provideTimbreModule(): void {
  if (provided) return;
  provided = true;
  plugin({
    name: "timbre agent API",
    setup(build) {
      build.module("timbre", () => ({ exports: { ...agentApi }, loader: "object" }));
    },
  });
}
