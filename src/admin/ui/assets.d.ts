// The dashboard's scripts are imported `with { type: "text" }` so they live inside the compiled binary
// (page.js and the CSS are declared in sandbox/assets.d.ts).
declare module "*/page-api.js" {
  const text: string;
  export default text;
}

declare module "*/page-detail.js" {
  const text: string;
  export default text;
}

declare module "*/page-dom.js" {
  const text: string;
  export default text;
}

declare module "*/page-journal.js" {
  const text: string;
  export default text;
}

declare module "*/page-lists.js" {
  const text: string;
  export default text;
}
