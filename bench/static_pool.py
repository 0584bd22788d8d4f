"""Static sites on Kubernetes, one pod per site or one shared pool: what 100
static sites cost in processes and memory either way, measured on this
machine with the processes each model runs (docs/kubernetes.md, "Static
sites: a pod each").

- A pod per site (what the render makes today): 100 `wok serve --root DIR`
  processes, each having answered one request.
- One shared pool (what Netlify does): one router process with 100 static
  routes. What the routes add is measured with `wok_router_bench --static
  HOST=DIR` (the router `wok up` runs, without its access log and
  statistics), with 1 route and with 100, each host asked once; that is
  added to one `wok serve`'s RSS (the wok binary), plus the statistics of
  each site that served (about 11 KiB each).

Reports the sum of RSS (what 100 pods on 100 nodes would each hold) and of
PSS (the same processes on one node, sharing the binary's pages), and the
pool's. Kubernetes' own cost per pod (the pause container, the kubelet's
bookkeeping, an IP) comes on top of the pods' and is not measured here. Run alone (`make bench` runs it too, scenario `pool`):
    python3 bench/static_pool.py --wok-bin build/src/wok --router-bench build/bench/wok_router_bench
"""
import argparse
import http.client
import os
import re
import shutil
import subprocess
import tempfile
import time

SITES = 100


def memory(pid):
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss * 1024, pss * 1024


def get(port, host):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/", headers={"Host": host})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def router_rss(router_bench, dirs, port=18099):
    """RSS of the router serving `dirs` as site0.pool.test..., each asked once."""
    args = [router_bench, "--port", str(port), "--threads", "1"]
    for i, d in enumerate(dirs):
        args += ["--static", f"site{i}.pool.test={d}"]
    pool = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while True:
            try:
                get(port, "site0.pool.test")
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the router did not start")
                time.sleep(0.05)
        for i in range(len(dirs)):
            status, body = get(port, f"site{i}.pool.test")
            assert status == 200 and f"site {i}".encode() in body, (status, body[:80])
        time.sleep(0.5)
        return memory(pool.pid)[0]
    finally:
        pool.kill()
        pool.wait()


def mib(n):
    return f"{n / 1048576:.1f} MiB"


def run(wok_bin, router_bench, sites=SITES):
    root = tempfile.mkdtemp(prefix="wok-pool-")
    procs = []
    try:
        dirs = []
        for i in range(sites):
            d = os.path.join(root, f"site{i}")
            os.makedirs(d)
            with open(os.path.join(d, "index.html"), "w") as f:
                f.write(f"<h1>site {i}</h1>\n" + "x" * 1000)
            dirs.append(d)
        # A pod per site.
        for d in dirs:
            p = subprocess.Popen([wok_bin, "serve", "--root", d, "--listen", "127.0.0.1:0", "--threads", "1"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            procs.append(p)
        ports = []
        for p in procs:
            m = re.search(r"on [\d.]+:(\d+) ready", p.stdout.readline())
            if not m:
                raise SystemExit("wok serve did not start")
            ports.append(int(m.group(1)))
        for i, port in enumerate(ports):
            status, body = get(port, "any")
            assert status == 200 and f"site {i}".encode() in body, (status, body[:80])
        time.sleep(0.5)
        per_pod = [memory(p.pid) for p in procs]
        rss_pods = sum(r for r, _ in per_pod)
        pss_pods = sum(p for _, p in per_pod)
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        procs.clear()
        # One shared pool: the router with 1 route, then with all of them;
        # what the routes add, on top of one `wok serve` (the wok binary).
        rss_one = router_rss(router_bench, dirs[:1])
        rss_all = router_rss(router_bench, dirs)
        rss_pool = rss_pods / sites + (rss_all - rss_one)
        stats = sites * 11 * 1024
        print(f"(pool) {sites} static sites on Kubernetes, measured with the processes each model runs:")
        print(f"  a pod per site:  {sites} processes (`wok serve`, 1 thread each), RSS {mib(rss_pods)} in all "
              f"({mib(rss_pods / sites)} per site, what each pod holds on its own node); PSS {mib(pss_pods)} "
              f"(all on one node, sharing the binary's pages)")
        print(f"  a shared pool:   the router with 1 route {mib(rss_one)}, with {sites} {mib(rss_all)} (each host "
              f"asked once): the routes add {mib(rss_all - rss_one)}; on one `wok serve` "
              f"({mib(rss_pods / sites)}) that is {mib(rss_pool)}, + {mib(stats)} of per-site statistics once "
              f"every site served: {mib(rss_pool + stats)}; 2 replicas for availability: "
              f"{mib(2 * (rss_pool + stats))}")
        print(f"  pods: {sites} against 2; memory: {(rss_pods / (2 * (rss_pool + stats))):.0f}x less for the pool "
              f"(RSS, pods on their own nodes), {(pss_pods / (2 * (rss_pool + stats))):.1f}x (PSS, one node)\n",
              flush=True)
        return rss_pods, pss_pods, rss_pool + stats
    finally:
        for p in procs:
            p.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--wok-bin", required=True)
    ap.add_argument("--router-bench", required=True)
    ap.add_argument("--sites", type=int, default=SITES)
    a = ap.parse_args()
    run(a.wok_bin, a.router_bench, a.sites)
