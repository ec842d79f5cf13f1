// The sandbox page's files are imported `with { type: "text" }` so they live inside the compiled binary.
// (bun-types already declares "*.html", as an HTMLBundle; routes.ts reads it as the text it is.)
declare module "*.css" {
  const text: string;
  export default text;
}

declare module "*/page.js" {
  const text: string;
  export default text;
}

declare module "*/page-users.js" {
  const text: string;
  export default text;
}

declare module "*/page-view.js" {
  const text: string;
  export default text;
}

declare module "*/page-strings.js" {
  const text: string;
  export default text;
}
