// Prints the folders under node_modules/ that the named packages load (their dependencies and
// optional dependencies, transitively; peers only where another package depends on them), one per
// line: what bench/gpu-pack.sh carries so that vitest runs on a machine without npm.
// Usage: npx tsx bench/modules.ts vitest fast-check typescript
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const root = join(process.cwd(), "node_modules");

/** Node's lookup: node_modules/<name> in `from` or the nearest folder above it that has one. */
function find(name: string, from: string): string | null {
  for (let d = from; d.startsWith(process.cwd()); d = dirname(d)) {
    const p = join(d, "node_modules", name);
    if (existsSync(join(p, "package.json"))) return p;
    if (d === dirname(d)) break;
  }
  return null;
}

const seen = new Set<string>();
function visit(dir: string): void {
  if (seen.has(dir)) return;
  seen.add(dir);
  const pj = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, Record<string, string>>;
  for (const dep of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies })) {
    const at = find(dep, dir);
    if (at) visit(at); // an optional dependency for another platform is simply not installed
  }
}

const names = process.argv.slice(2);
if (!names.length) throw new Error("usage: tsx bench/modules.ts <package>...");
for (const n of names) {
  const at = find(n, process.cwd());
  if (!at) throw new Error(`${n} is not installed: run npm ci first`);
  visit(at);
}
for (const d of [...seen].sort()) console.log(relative(root, d));
