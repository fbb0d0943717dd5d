// Finds the repository's files (shaders/, bench/triad.c, bench/torch_ref.py) from wherever this code
// runs: bench/ under tsx, or a compiled copy such as .carry/build/bench/ on a GPU machine (GPU.md).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The first `<ancestor>/<rel>` that exists, searching up from bench/. */
export function findUp(rel: string): string {
  for (let d = here; ; d = dirname(d)) {
    if (existsSync(join(d, rel))) return join(d, rel);
    if (dirname(d) === d) throw new Error(`bench: cannot find ${rel} above ${here}`);
  }
}

/** Compiled (.js) runs start children with plain node; sources need tsx's loader. */
export const compiled = import.meta.url.endsWith(".js");
export const sibling = (name: string): string => join(here, `${name}${compiled ? ".js" : ".ts"}`);

/** A script's command line: `flag("--sizes", "1e3")` (the word after it, else the default) and the
 * positional words (those not following a --flag), as bench/ab.ts, vsraw.ts and floor.ts read them. */
export function commandLine(args = process.argv.slice(2)): { flag(name: string, dflt: string): string; positional: string[] } {
  const flag = (name: string, dflt: string): string => {
    const i = args.indexOf(name);
    return i >= 0 ? (args[i + 1] ?? dflt) : dflt;
  };
  return { flag, positional: args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--")) };
}
