// Copies the browser builds of our npm dependencies into static/vendor/, where Django serves
// them. Run `npm ci && npm run vendor` in frontend/ after changing package.json; the copied
// files are committed, so nothing is fetched at run time.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = [
  ["htmx.org", "dist/htmx.min.js", "htmx/htmx.min.js"],
  ["htmx.org", "LICENSE", "htmx/LICENSE"],
];

for (const [pkg, source, target] of files) {
  const version = JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"))).version;
  const destination = join(root, "static", "vendor", target);
  mkdirSync(dirname(destination), { recursive: true });
  copyFileSync(join(root, "node_modules", pkg, source), destination);
  console.log(`${pkg}@${version}: ${source} -> static/vendor/${target}`);
}
