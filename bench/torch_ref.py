"""PyTorch rows for bench/run.ts --torch: the four workloads on torch-cpu-1t (1 thread), torch-cpu
(all threads) and torch-cuda (when available), timed as bench/measure.ts times (warm-up, warm reps,
median, predicted overruns skipped). Input: a JSON job in argv[1]. Output: one JSON message a line."""
import json
import os
import sys
import time

import torch

GOLDEN, SEEDMUL = 0x9E3779B1, 0x6B43A9B5
W3_STEPS, W3_LR, W4_N, W4_OPS = 200, 0.1, 1000, 100
CHAIN = ["addX", "mulHalf", "subTenth", "mulX"]


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def uniform(n, seed):
    """bench/data.ts uniform(): the low 32 bits survive int64 wrap-around, so & gives the hash."""
    s = (seed * SEEDMUL) & 0xFFFFFFFF
    h = ((torch.arange(n, dtype=torch.int64) + s) * GOLDEN) & 0xFFFFFFFF
    return (h.double() / 4294967296.0 * 2 - 1).float()


def cells(dev):
    def host(t):
        return t.cpu() if dev.type == "cuda" else t

    def w1(n):
        x = uniform(n, 1).to(dev).requires_grad_(True)

        def run():
            x.grad = None
            y = x + 2
            z = y.mul(y).mul(2).mean()
            z.backward()
            return host(x.grad)
        return run

    def w2(n):
        a, b = uniform(n, 2).to(dev), uniform(n, 3).to(dev)
        return lambda: host(a.mul(b).add(2))

    def w3(n):
        x = uniform(n, 4).to(dev)
        y = (3 * x + 1 + 0.1 * uniform(n, 5).to(dev)).float()

        def run():
            w = torch.zeros(1, device=dev, requires_grad=True)
            b = torch.zeros(1, device=dev, requires_grad=True)
            opt = torch.optim.SGD([w, b], lr=W3_LR)
            for _ in range(W3_STEPS):
                opt.zero_grad()
                loss = (x * w + b - y).square().mean()
                loss.backward()
                opt.step()
            return loss.item()
        return run

    def w4(n):
        x = (0.75 + 0.25 * uniform(n, 6)).to(dev).requires_grad_(True)

        def run():
            x.grad = None
            t = x
            for k in range(W4_OPS):
                op = CHAIN[k % 4]
                t = t + x if op == "addX" else t * 0.5 if op == "mulHalf" else t - 0.1 if op == "subTenth" else t * x
            t.sum().backward()
            return host(x.grad)
        return run

    return {"W1": w1, "W2": w2, "W3": w3, "W4": w4}


def timed(run, dev, k=1):
    """Seconds per call over k calls in a row, and the last output."""
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(k):
        out = run()
    return (time.perf_counter() - t) / k, out


def measure(run, dev, b):
    warm, _ = timed(run, dev)
    spent, k = warm, 1
    while (spent < b["warmS"] or (b["warmS"] > 0 and k < 5000 and spent < b["warmMaxS"])) and k < 20000 and warm < b["warmS"]:  # as measure.ts
        spent += timed(run, dev)[0]
        k += 1
    t1, out = timed(run, dev)
    per_call, s, i = t1, t1, 1  # a warm call's time, from ~5 ms of calls when they are short
    while b["budgetS"] > 0 and s < 0.005 and i < 10000:
        s += timed(run, dev)[0]
        i += 1
        per_call = s / i
    reps = min(b["maxReps"], max(b["minReps"], int(b["budgetS"] / max(per_call, 1e-6))))
    while reps > 1 and warm + reps * per_call > b["cellCapS"]:
        reps -= 1
    # batches of calls when maxReps single calls would not fill the budget (as measure.ts)
    batch = max(1, int(b["budgetS"] / (b["maxReps"] * max(per_call, 1e-6)))) if reps == b["maxReps"] else 1
    samples, t0 = ([t1] if batch == 1 else []), time.perf_counter()
    while len(samples) < reps and (len(samples) < b["minReps"] or time.perf_counter() - t0 < 2 * b["budgetS"]):
        t1, out = timed(run, dev, batch)
        samples.append(t1)
    s = sorted(samples)
    m = len(s) // 2
    med = s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2
    check = out if isinstance(out, float) else out.double().sum().item()
    row = {"status": "ok", "ms": med * 1e3, "minMs": s[0] * 1e3, "maxMs": s[-1] * 1e3,
           "reps": len(s), "check": check}
    if batch > 1:
        row["batch"] = batch
    return row


def predict(hist, w, n):
    """bench/measure.ts predict(): a line through the last two sizes, else another workload's scaling."""
    h = hist.get(w, [])
    if len(h) >= 2:
        (n1, t1), (n2, t2) = h[-2], h[-1]
        slope = 0 if n2 == n1 else max(0.0, (t2 - t1) / (n2 - n1))
        return t2 + slope * (n - n2)
    if not h:
        return None
    n1, t1 = h[0]
    for other in hist.values():
        a = dict(other).get(n1)
        b = dict(other).get(n)
        if a and b:
            return t1 * b / a
    return None


def system(sid, dev, job):
    b, t0, hist = job["budget"], time.perf_counter(), {}
    make = cells(dev)
    for c in job["cells"]:
        w, n = c["workload"], c["n"]
        send({"type": "start", "system": sid, "workload": w, "n": n})
        base = {"system": sid, "workload": w, "n": n}
        h = hist.setdefault(w, [])
        guess = predict(hist, w, n)
        if time.perf_counter() - t0 > b["systemS"]:
            row = {**base, "status": "skipped", "reason": f"system time budget ({b['systemS']} s) spent"}
        elif guess is not None and 2 * guess > b["cellCapS"]:
            row = {**base, "status": "skipped",
                   "reason": f"predicted {guess:.1f} s per rep; over the {b['cellCapS']} s cell cap"}
        else:
            try:
                row = {**base, **measure(make[w](n), dev, b)}
            except Exception as e:  # noqa: BLE001 - a failed cell is a row, not a crash
                row = {**base, "status": "failed", "reason": f"{type(e).__name__}: {e}".split("\n")[0][:300]}
        if row["status"] == "ok":
            h.append((n, row["ms"] / 1e3))
            if w == "W2":
                row["gbps"] = 12 * n / (row["ms"] / 1e3) / 1e9
            if w == "W4":
                row["usPerOp"] = row["ms"] * 1e3 / W4_OPS
        send({"type": "row", "row": row})


def main():
    job = json.loads(sys.argv[1])
    threads = os.cpu_count() or 1
    send({"type": "info", "info": {"torch": torch.__version__, "python": sys.version.split()[0],
                                   "threads": threads, "cuda": torch.cuda.is_available()}})
    for sid in job["systems"]:
        job_s = {**job, "budget": {**job["budget"], "systemS": job["budgets"][sid]}}
        if sid == "torch-cuda":
            if not torch.cuda.is_available():
                for c in job["cells"]:
                    send({"type": "row", "row": {"system": sid, **c, "status": "skipped",
                                                 "reason": "torch.cuda.is_available() is False"}})
                continue
            system(sid, torch.device("cuda"), job_s)
        else:
            torch.set_num_threads(1 if sid == "torch-cpu-1t" else threads)
            system(sid, torch.device("cpu"), job_s)
    send({"type": "done"})


if __name__ == "__main__":
    main()
