/**
 * A one-line, actionable message for an Elysia validation error. A schema's `error` option
 * (the admin schemas set one per field) is used as is; otherwise Elysia's message is a JSON
 * report, and its first value error ("/limit: Expected integer") is what a person can act on.
 */
export function validationMessage(error: { message: string; valueError?: { path: string; message: string } | undefined }): string {
  const message = error.message.trim();
  if (message !== "" && !message.startsWith("{")) return message.split("\n")[0]!;
  return error.valueError ? `${error.valueError.path || "body"}: ${error.valueError.message}` : "invalid request; see /swagger for the expected shape";
}

/** A body that parsed but cannot be what any admin route takes (an array, a string...): its message is the 400's error. */
export class UnusableBody extends Error {
  override name = "UnusableBody";
}

/** The 400 message for a body Elysia could not parse (ParseError, whose cause is what onParse threw). */
export function parseErrorMessage(error: unknown): string {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return cause instanceof UnusableBody ? cause.message : "the body could not be parsed; send JSON";
}
