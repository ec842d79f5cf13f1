// Files of swagger-ui-dist imported `with { type: "file" }`: the import is the file's path
// (inside the compiled binary: an embedded path that Bun.file reads).
declare module "swagger-ui-dist/swagger-ui.css" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/favicon-32x32.png" {
  const path: string;
  export default path;
}
