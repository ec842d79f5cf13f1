import { existsSync, readFileSync, statSync } from "node:fs";

/** What keeps `path` from being a readable PEM file (TLS_CERT_PATH, TLS_KEY_PATH); undefined when it is one. */
export function pemFileProblem(path: string): string | undefined {
  if (!existsSync(path)) return "no file is there";
  if (!statSync(path).isFile()) return "that is a folder";
  try {
    return readFileSync(path, "utf8").includes("-----BEGIN ") ? undefined : "it has no -----BEGIN line (a DER file? convert it with openssl)";
  } catch (error) {
    return `it cannot be read (${(error as { code?: string }).code ?? String(error)})`;
  }
}
