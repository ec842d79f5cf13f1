import pkg from "../package.json";

// Replaced by `scripts/build.ts` (`--define BUILD_COMMIT="abc1234"`); undeclared when running from source.
declare const BUILD_COMMIT: string | undefined;

export const VERSION: string = pkg.version;

/** The git commit the binary was built from ("unknown" when built outside git); undefined in source runs. */
export const BUILT_FROM: string | undefined = typeof BUILD_COMMIT === "string" ? BUILD_COMMIT : undefined;

/** `git rev-parse --short HEAD` of `cwd` (with "-dirty" for uncommitted changes), or undefined outside git. */
export function gitCommit(cwd: string): string | undefined {
  try {
    const head = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd, stdout: "pipe", stderr: "ignore" });
    if (head.exitCode !== 0) return undefined;
    const commit = head.stdout.toString().trim();
    // Tracked files that differ from HEAD: the binary would not match the commit it names.
    const clean = Bun.spawnSync(["git", "diff", "--quiet", "HEAD", "--"], { cwd, stdout: "ignore", stderr: "ignore" }).exitCode === 0;
    return commit === "" ? undefined : clean ? commit : `${commit}-dirty`;
  } catch {
    return undefined; // git is not installed
  }
}

/** What `timbre --version` prints: the version and the commit the binary was built from. */
export function versionLine(): string {
  if (BUILT_FROM !== undefined) return `timbre ${VERSION} (commit ${BUILT_FROM})`;
  const commit = gitCommit(import.meta.dir);
  return `timbre ${VERSION} (source${commit ? `, commit ${commit}` : ""})`;
}
