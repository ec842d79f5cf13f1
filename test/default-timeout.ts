/**
 * The default timeout of every test and hook in every test file: 60 s, because end-to-end tests
 * start real servers, child processes and PostgreSQL on a busy 2-core machine.
 *
 * `setDefaultTimeout` holds for the file that calls it only (bun 1.4.5 resets it at each file,
 * so called from the preload it covered the first file of a run alone), and bunfig.toml has no
 * timeout key (`[test] timeout` is ignored). So this preload plugin puts the call at the top of
 * each test file as bun loads it, on the file's first line: line numbers in errors stay true.
 */
import { plugin } from "bun";

const DEFAULT_TEST_TIMEOUT_MS = 60_000;

const PREFIX = `import { setDefaultTimeout as __timbreSetDefaultTimeout } from "bun:test"; __timbreSetDefaultTimeout(${DEFAULT_TEST_TIMEOUT_MS});`;

plugin({
  name: "timbre test default timeout",
  setup(build) {
    build.onLoad({ filter: /\.test\.ts$/ }, async ({ path }) => ({ contents: `${PREFIX} ${await Bun.file(path).text()}`, loader: "ts" }));
  },
});
