// A Python-like print for the examples, so their transcripts read exactly like PyTorch's:
// booleans as True/False, null as None, tensors and grad_fns by their repr.
export type Printer = (...items: unknown[]) => void;

const py = (v: unknown): string =>
  v === true ? "True" : v === false ? "False" : v === null || v === undefined ? "None" : String(v);

/** print(...) writing to stdout, or to `sink` when given (the transcript tests capture it). */
export function makePrinter(sink?: (line: string) => void): Printer {
  return (...items) => (sink ?? console.log)(items.map(py).join(" "));
}
