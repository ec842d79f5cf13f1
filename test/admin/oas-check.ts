/** What the OpenAPI document (/swagger/json) declares, for the tests that compare it with what routes answer. */
type Json = Record<string, any>;

export type Spec = { paths: Record<string, Record<string, { parameters?: Json[]; requestBody?: Json; responses: Record<string, { content?: Record<string, { schema: Json; example?: unknown }> }> }>> };

export function declared(spec: Spec, path: string, method: string): string[] {
  return Object.keys(spec.paths[path]?.[method]?.responses ?? {});
}
