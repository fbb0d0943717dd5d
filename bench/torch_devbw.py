"""Device-resident rows for bench/devbw.ts on torch-cuda: k repetitions between two synchronizes,
the time per repetition taken as the slope between k = 1 and k = K. argv[1]: JSON {sizes, k, rounds}.
Output: one JSON row a line: {system, n, us_per_rep, us_at_k, bytes_per_el}."""
import json
import sys
import time

import torch


def slope(run, k, rounds):
    run(1), run(k)
    t1, tk = [], []
    for _ in range(rounds):
        for reps, ts in ((1, t1), (k, tk)):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            run(reps)
            torch.cuda.synchronize()
            ts.append(time.perf_counter() - t0)
    m1, mk = sorted(t1)[len(t1) // 2], sorted(tk)[len(tk) // 2]
    return (mk - m1) / (k - 1) * 1e6, mk / k * 1e6


def main():
    job = json.loads(sys.argv[1])
    if not torch.cuda.is_available():
        print(json.dumps({"error": "no CUDA"}))
        return
    dev = torch.device("cuda")
    print(json.dumps({"info": torch.cuda.get_device_name(0), "torch": torch.__version__}), flush=True)
    for n in job["sizes"]:
        a = torch.rand(n, device=dev) * 2 - 1
        b = torch.rand(n, device=dev) * 2 - 1
        dst = torch.empty(n, device=dev)
        two = torch.full((1,), 2.0, device=dev)

        def copy(reps):
            for _ in range(reps):
                dst.copy_(a)

        def w2(reps):
            for _ in range(reps):
                a.mul(b).add(2)

        def w2_addcmul(reps):
            for _ in range(reps):
                torch.addcmul(two, a, b)

        for name, run, bpe in (("torch-cuda-copy", copy, 8), ("torch-cuda-w2", w2, 12),
                               ("torch-cuda-w2-addcmul", w2_addcmul, 12)):
            per, at_k = slope(run, job["k"], job["rounds"])
            print(json.dumps({"system": name, "n": n, "us_per_rep": per, "us_at_k": at_k,
                              "bytes_per_el": bpe}), flush=True)


main()
