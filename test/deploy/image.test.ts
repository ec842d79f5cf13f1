/**
 * The container image, as far as this machine allows (no registry, no `podman run`):
 * scripts/check-image.ts rehearses the build stage, builds the runtime stage's FROM-scratch twin
 * with podman when it is installed (and the same root folder without it, which must match), and
 * runs the entrypoint from it as PID 1 of new namespaces, chrooted, as the image's user. Needs
 * root; about 10-20 s. Nothing is left behind: no image, no mount, no temp folder.
 */
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import journal from "../../drizzle/meta/_journal.json";
import { checkImage, type ImageCheckReport } from "../../scripts/check-image.ts";
import { podmanVersion } from "../../scripts/check-image/podman.ts";

const asRoot = process.getuid?.() === 0;
const leftovers = () => readdirSync(tmpdir()).filter((name) => name.startsWith("timbre-image-check-"));
const images = () => Bun.spawnSync(["podman", "images", "-a", "--format", "{{.Repository}}:{{.Tag}}"], { stdout: "pipe" }).stdout.toString();

test.skipIf(!asRoot)(
  "the image's entrypoint starts as the non-root user, migrates /data, serves, passes its HEALTHCHECK and stops on SIGTERM with exit 0",
  async () => {
    const before = leftovers();
    const lines: string[] = [];
    let report: ImageCheckReport;
    try {
      report = await checkImage({ log: (line) => lines.push(line) });
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- check log ---\n${lines.join("\n")}`);
    }
    const podman = podmanVersion();
    // With podman the twin was built by it (unless it could not build, which the report says and the log shows).
    if (podman && !report.podmanSkipped) expect(report.root).toBe("podman");
    if (!podman) expect(report.root).toBe("folder");
    if (report.podmanSkipped) console.warn(`image check without podman: ${report.podmanSkipped}`);

    expect(report.version).toBe("timbre 0.1.0 (commit unknown)");
    expect(report.config).toMatchObject({
      user: "65532:65532",
      entrypoint: ["/usr/local/bin/timbre"],
      cmd: [],
      workdir: "/data",
      stopSignal: "SIGTERM",
      healthcheck: { test: ["/usr/local/bin/timbre", "healthcheck"] },
    });
    expect(report.config.env).toMatchObject({ DATABASE_PATH: "/data/timbre.db", PORT: "8080", HOST: "0.0.0.0" });

    // Only what the binary needs: no shell, no package manager, no curl.
    const paths = report.layout.map((line) => line.split(" ")[3]!);
    expect(paths.filter((p) => p.split("/").length === 2).sort()).toEqual(["/data", "/etc", "/lib", "/lib64", "/tmp", "/usr"]);
    expect(paths).toContain("/usr/local/bin/timbre");
    expect(paths).toContain("/etc/ssl/certs/ca-certificates.crt");
    expect(paths.some((p) => /\/(sh|bash|curl|apt|busybox)$/.test(p))).toBe(false);
    expect(report.layout).toContainEqual(expect.stringMatching(/^d 755 65532:65532 \/data$/));
    expect(report.layout).toContainEqual(expect.stringMatching(/^f 755 0:0 \/usr\/local\/bin\/timbre \d+$/));

    expect(report.run).toMatchObject({ uid: 65532, gid: 65532, pidInside: 1, exitCode: 0, databaseOwner: "65532:65532", migrations: journal.entries.length });
    expect(report.run.health).toEqual({ status: "ok", mode: "webhook", sandbox: true });
    expect(report.run.healthcheck.code).toBe(0);
    expect(JSON.parse(report.run.healthcheck.stdout)).toEqual({ status: "ok", mode: "webhook", sandbox: true });
    expect(report.run.echoed).toStartWith("from the image ");
    expect(report.run.healthcheckAfterStop.code).toBe(1);
    expect(report.run.healthcheckAfterStop.stderr).toContain("timbre healthcheck: could not reach http://127.0.0.1:");

    expect(leftovers()).toEqual(before);
    if (podman) expect(images()).not.toContain("timbre-image-check");
  },
  120_000,
);
