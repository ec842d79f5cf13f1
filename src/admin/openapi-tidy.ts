/**
 * Cleans the OpenAPI 3.0 document @elysiajs/swagger builds so Swagger UI shows what the API
 * really does: JSON only (the plugin lists form-data and text too), examples where OpenAPI
 * puts them (the plugin leaves response examples outside `content`), and plain types instead
 * of Elysia's coercion unions (`anyOf: [string "integer", integer]`), `const` and `type: null`,
 * which OpenAPI 3.0 does not know.
 */

type Json = Record<string, unknown>;

const JSON_TYPE = "application/json";
const RESPONSE_KEYS = new Set(["description", "content", "headers", "links"]);
/** Formats Elysia gives the string branch of a coercible number/integer/boolean/object. */
/** Keywords whose value maps names to schemas (a property may be called "error" or "const"). */
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "definitions", "$defs"]);
const COERCION_FORMATS = new Set(["integer", "numeric", "boolean", "ObjectString", "ArrayString"]);

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A schema, recursively: coercion unions collapsed, nullability and constants in 3.0 terms. */
export function tidySchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(tidySchema);
  if (!isObject(schema)) return schema;
  const variants = Array.isArray(schema.anyOf) ? (schema.anyOf as unknown[]) : undefined;
  if (variants) {
    const real = variants.filter((v) => !(isObject(v) && v.type === "string" && COERCION_FORMATS.has(String(v.format))));
    const nonNull = real.filter((v) => !(isObject(v) && v.type === "null"));
    const nullable = nonNull.length < real.length || schema.nullable === true;
    const { anyOf: _drop, ...rest } = schema;
    // One real variant left: merge it in and look again (it may be a union itself).
    if (nonNull.length === 1 && isObject(nonNull[0])) return tidySchema({ ...rest, ...nonNull[0], ...(nullable ? { nullable: true } : {}) });
    if (real.length !== variants.length) return tidySchema({ ...rest, anyOf: nonNull, ...(nullable ? { nullable: true } : {}) });
  }
  const out: Json = { ...schema };
  delete out.error; // Elysia's custom validation message: not an OpenAPI keyword
  if ("const" in out) {
    out.enum = [out.const];
    delete out.const;
  }
  for (const [key, value] of Object.entries(out)) {
    if (key === "example" || key === "examples" || key === "default" || key === "enum") continue;
    if (isObject(value) || Array.isArray(value)) out[key] = SCHEMA_MAPS.has(key) ? mapValues(value as Json, tidySchema) : tidySchema(value);
  }
  return out;
}

function mapValues(object: Json, fn: (value: unknown) => unknown): Json {
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, fn(v)]));
}

function jsonOnly(content: unknown, example?: unknown): Json | undefined {
  if (!isObject(content)) return undefined;
  const media = content[JSON_TYPE] ?? Object.values(content)[0];
  if (!isObject(media)) return undefined;
  const tidied: Json = { ...media, schema: tidySchema(media.schema) };
  if (example !== undefined && tidied.example === undefined) tidied.example = example;
  return { [JSON_TYPE]: tidied };
}

const LOCKED_OUT: Json = {
  description: "Too many wrong tokens from this address in the last minute; wait Retry-After seconds.",
  headers: { "Retry-After": { description: "Seconds until a token is checked again.", schema: { type: "integer" } } },
  content: {
    "application/json": {
      schema: { type: "object", required: ["ok", "error"], properties: { ok: { type: "boolean", const: false }, error: { type: "string" } } },
      example: { ok: false, error: "too many wrong admin tokens from this address (10 within 60 s); try again in 42 s with the value of ADMIN_TOKEN" },
    },
  },
};

function tidyOperation(operation: Json): Json {
  const out: Json = { ...operation };
  if (isObject(out.responses)) {
    out.responses = mapValues(out.responses, (response) => {
      if (!isObject(response)) return response;
      const tidied: Json = {};
      for (const [key, value] of Object.entries(response)) if (RESPONSE_KEYS.has(key)) tidied[key] = value;
      tidied.description ??= "OK";
      const content = jsonOnly(response.content, response.example);
      if (content) tidied.content = content;
      else delete tidied.content;
      return tidied;
    });
  }
  if (isObject(out.requestBody)) {
    const content = jsonOnly(out.requestBody.content);
    // A body is optional unless its schema requires a field (POST /admin/backup's path); an empty PUT uses the defaults.
    const schema = (content as Json | undefined)?.["application/json"] as Json | undefined;
    const needed = Array.isArray((schema?.schema as Json | undefined)?.required) && ((schema!.schema as Json).required as unknown[]).length > 0;
    out.requestBody = { ...out.requestBody, required: needed, ...(content ? { content } : {}) };
  }
  // Every admin route sits behind the token check and its lockout (10 wrong tokens a minute per address).
  if (Array.isArray(out.security) && isObject(out.responses) && !("429" in out.responses)) {
    out.responses = { ...out.responses, "429": LOCKED_OUT };
  }
  if (Array.isArray(out.parameters)) {
    out.parameters = out.parameters.map((parameter: unknown) => {
      if (!isObject(parameter)) return parameter;
      const { examples, ...rest } = parameter;
      const schema = tidySchema(rest.schema) as Json;
      const example = Array.isArray(examples) ? examples[0] : (schema.example ?? undefined);
      const tidied: Json = { ...rest, schema };
      if (example !== undefined) tidied.example = example;
      for (const key of Object.keys(tidied)) if (tidied[key] === undefined) delete tidied[key];
      return tidied;
    });
  }
  return out;
}

export function tidyOpenApi(document: unknown): unknown {
  if (!isObject(document) || !isObject(document.paths)) return document;
  const paths = mapValues(document.paths, (item) => (isObject(item) ? mapValues(item, (op) => (isObject(op) ? tidyOperation(op) : op)) : item));
  return { ...document, paths };
}
