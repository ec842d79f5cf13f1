import { thrownMessage } from "./observability/log.ts";

/** The HTTP server could not listen; the message is the one line printed before exiting. */
export class ListenError extends Error {
  override name = "ListenError";
}

/** Turns the error Bun.serve threw into one line naming HOST/PORT and what to do. */
export function listenError(error: unknown, host: string, port: number, tls = false): ListenError {
  const code = (error as { code?: unknown } | undefined)?.code;
  const reason = thrownMessage(error);
  // OpenSSL's words: a certificate or key it could not use (PEM files that are not what they say, a key that does not match).
  if (tls && /PEM|X509|x509|SSL|private key|key values mismatch/i.test(reason)) {
    return new ListenError(`TLS_CERT_PATH and TLS_KEY_PATH: the certificate or key cannot be used (${reason}): give the PEM certificate (its chain first) and its matching private key`);
  }
  const where = `PORT=${port} on HOST=${host}`;
  if (code === "EADDRINUSE") {
    return new ListenError(`${where} is already in use (another timbre, or another program, listens there): stop it or set PORT to a free port`);
  }
  if (code === "EACCES") return new ListenError(`${where} is not allowed for this user (ports below 1024 need privileges): set PORT to 1024 or above`);
  if (code === "EADDRNOTAVAIL" || code === "EINVAL" || code === "ENOTFOUND") {
    return new ListenError(`HOST=${JSON.stringify(host)} is not an address of this machine (${reason}): use 0.0.0.0 for every interface or 127.0.0.1 for this machine only`);
  }
  return new ListenError(`could not listen on ${where}: ${reason}`);
}
