// Command-line options of `npm run bench -- [options]`, parsed without dependencies.
import { BUDGETS, FULL_SIZES, QUICK_SIZES } from "./plan.js";
import type { Budget } from "./types.js";

export interface Options {
  quick: boolean;
  sizes: number[];
  torch: boolean;
  out: string;
  machine: string | null;
  only: string[] | null;
  budget: Budget;
  /** Target for the whole run; each system gets a share of what is left. */
  runS: number;
  /** A measuring process silent this long is killed as hung (default: 2 cell caps + 30 or 60 s). */
  stallS: number;
  argv: string[];
}

export const USAGE = `npm run bench -- [options]
  --quick            sizes 1e3,1e5,1e6 and short budgets (under 3 minutes on 2 cores)
  --sizes 1e3,1e6    element counts for W1-W3 (W4 is always 1 000 elements)
  --torch            also run bench/torch_ref.py with the first Python that imports torch
  --reps K           exactly K warm reps per cell (after one warm-up)
  --only a,b         measure only these systems (the others are recorded as skipped)
  --out DIR          where the .json/.md/.svg go (default bench/results)
  --timeout S        kill a measuring process that reports nothing for S seconds (a hang)
  --budget S         target duration of the whole run (default 140 quick, 2400 full); each
                     system gets a share, so cells that do not fit are recorded as skipped
  --machine NAME     the <machine> part of the file names (default: GPU adapter + CPU count)`;

const num = (s: string): number => {
  const v = Number(s);
  if (!Number.isFinite(v) || v < 1 || !Number.isInteger(Math.round(v))) throw new Error(`bad size '${s}'`);
  return Math.round(v);
};

export function parseArgs(argv: string[]): Options | "help" {
  const o: Options = {
    quick: false, sizes: [], torch: false, out: "bench/results", machine: null, only: null,
    budget: BUDGETS.full, runS: 3600, stallS: 0, argv,
  };
  let reps: number | null = null;
  let stall: number | null = null;
  let runS: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, null];
    const val = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === "--help" || flag === "-h") return "help";
    else if (flag === "--quick") o.quick = true;
    else if (flag === "--torch") o.torch = true;
    else if (flag === "--sizes") o.sizes = val().split(/[,\s]+/).filter(Boolean).map(num);
    else if (flag === "--reps") reps = num(val());
    else if (flag === "--only") o.only = val().split(",").filter(Boolean);
    else if (flag === "--out") o.out = val();
    else if (flag === "--timeout") stall = num(val());
    else if (flag === "--budget") runS = num(val());
    else if (flag === "--machine") o.machine = val().replace(/[^A-Za-z0-9._-]+/g, "-");
    else throw new Error(`unknown option '${a}'\n${USAGE}`);
  }
  if (o.sizes.length === 0) o.sizes = o.quick ? QUICK_SIZES : FULL_SIZES;
  o.sizes = [...new Set(o.sizes)].sort((x, y) => x - y);
  o.budget = { ...(o.quick ? BUDGETS.quick : BUDGETS.full) };
  o.runS = runS ?? (o.quick ? 140 : 2400);
  o.stallS = stall ?? 2 * o.budget.cellCapS + (o.quick ? 30 : 60);
  if (reps !== null) o.budget = { ...o.budget, budgetS: 0, minReps: reps, maxReps: reps, warmS: 0 };
  return o;
}
