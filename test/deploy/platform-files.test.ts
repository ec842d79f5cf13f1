/**
 * fly.toml, compose.yaml and Caddyfile cannot be run here (no Fly, Docker or Caddy): they are
 * checked against the Containerfile instead, so a changed port, path or stop timeout in one
 * place shows up here rather than at a deploy.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseContainerfile } from "../../scripts/check-image/containerfile.ts";
import { TELEGRAM_WEBHOOK_PORTS } from "../../src/config.ts";
import { ROOT } from "../helpers.ts";

const read = (name: string) => readFileSync(join(ROOT, name), "utf8");
const image = parseContainerfile(read("Containerfile")).runtime;
const port = Number(image.env.PORT);
const dataDir = image.env.DATABASE_PATH!.slice(0, image.env.DATABASE_PATH!.lastIndexOf("/"));
/** timbre's own cap on a graceful stop (src/main.ts), which every platform must wait out. */
const STOP_CAP_S = 10;

test("the image keeps its database in the working directory, on the port it exposes", () => {
  expect(dataDir).toBe("/data");
  expect(image.workdir).toBe(dataDir);
  expect(image.exposed).toEqual([`${port}/tcp`]);
});

test("fly.toml: the image, one always-on Machine, the volume at /data, SIGTERM with time to stop, /healthz", () => {
  const fly = Bun.TOML.parse(read("fly.toml")) as Record<string, any>;
  expect(fly.build).toEqual({ dockerfile: "Containerfile" });
  expect(fly.mounts).toEqual([{ source: "timbre_data", destination: dataDir }]);
  expect(fly.kill_signal).toBe("SIGTERM");
  expect(fly.kill_timeout).toBeGreaterThan(STOP_CAP_S);
  expect(fly.http_service).toMatchObject({ internal_port: port, force_https: true, auto_stop_machines: "off", min_machines_running: 1 });
  expect(fly.http_service.checks).toEqual([expect.objectContaining({ method: "GET", path: "/healthz" })]);
  // Fly's HTTPS is on 443, one of the ports Telegram calls; the webhook URL is the app's own domain.
  expect(TELEGRAM_WEBHOOK_PORTS).toContain(443);
  expect(fly.env.PUBLIC_URL).toBe(`https://${fly.app}.fly.dev`);
  // Behind Fly's proxy the right-most X-Forwarded-For entry is not the client: these must stay off.
  expect(fly.env.TRUST_PROXY).toBeUndefined();
  expect(fly.env.TRUSTED_IPS).toBeUndefined();
});

test("compose.yaml and Caddyfile: timbre on a volume at /data behind Caddy on 80 and 443, PUBLIC_URL on DOMAIN", () => {
  const compose = Bun.YAML.parse(read("compose.yaml")) as { services: Record<string, any>; volumes: Record<string, unknown> };
  const timbre = compose.services.timbre;
  expect(timbre.build).toBe(".");
  expect(timbre.volumes).toEqual([`timbre-data:${dataDir}`]);
  expect(Object.keys(compose.volumes)).toContain("timbre-data");
  expect(Number.parseInt(timbre.stop_grace_period)).toBeGreaterThan(STOP_CAP_S);
  expect(timbre.environment.PUBLIC_URL).toStartWith("https://${DOMAIN");
  expect(timbre.environment).toMatchObject({ TRUST_PROXY: "on", TRUSTED_IPS: "on" });
  // Only loopback on the host: the public side goes through Caddy.
  expect(timbre.ports).toEqual([`127.0.0.1:${port}:${port}`]);
  expect(compose.services.caddy.ports).toEqual(["80:80", "443:443", "443:443/udp"]);
  expect(compose.services.caddy.volumes).toContain("./Caddyfile:/etc/caddy/Caddyfile:ro");

  const caddyfile = read("Caddyfile");
  expect(caddyfile).toContain("{$DOMAIN} {");
  expect(caddyfile).toContain(`reverse_proxy timbre:${port}`);
  expect(caddyfile).toMatch(/@private path \/admin \/admin\/\* \/swagger \/swagger\/\* \/metrics \/metrics\/\*\n\s+respond @private 404/);
});
