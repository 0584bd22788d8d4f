#!/usr/bin/env python3
"""Runs the same wrk workload against wok's router and its peers (nginx,
HAProxy) on loopback, alternating, several rounds, with the same number of
worker threads/processes. Prints requests/s, p50 and p99 latency per server
and the ratio wok/peer (medians over the rounds). See docs/performance.md."""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

PORTS = {"wok": 18081, "nginx": 18082, "haproxy": 18083, "wok-up": 18084, "nginx-log": 18085, "h2o": 18086,
         "upstream": 18090, "wok-tls": 18091, "nginx-tls": 18092}


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def fetch(port, path, host="bench.test"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except Exception as e:  # noqa: BLE001 - any failure means "not serving"
        return 0, str(e).encode()


# One nginx configuration for every scenario; `{http}` holds its sites.
NGINX_CONF = """
worker_processes {workers};
daemon off;
pid {dir}/nginx-{name}.pid;
error_log {dir}/nginx-{name}.error.log warn;
events {{ worker_connections 10240; }}
http {{
  {access_log}
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  open_file_cache max=1000 inactive=60s;
  default_type application/octet-stream;
  client_body_temp_path {dir}/tmp-{name};
  proxy_temp_path {dir}/tmp-{name};
  fastcgi_temp_path {dir}/tmp-{name};
  uwsgi_temp_path {dir}/tmp-{name};
  scgi_temp_path {dir}/tmp-{name};
{http}
}}
"""

# The site of scenarios (a) to (c) and (u): static files and a proxy.
NGINX_SITE = """
  upstream up {{ server 127.0.0.1:{upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port} reuseport;
    server_name bench.test;
    root {root};
    location /proxy/ {{
      proxy_pass http://up/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header Forwarded "for=$remote_addr;host=\\"$host\\";proto=$scheme";
    }}
  }}
"""

HAPROXY_CONF = """
global
  nbthread {workers}
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:{port}
  default_backend be
backend be
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  http-request set-header Forwarded 'for=%[src];host="%[req.hdr(host)]";proto=http'
  server up 127.0.0.1:{upstream} maxconn 1000
"""


def pinned(cpus, new_session=False, cgroup=None):
    """A preexec_fn that puts the child on `cpus`, in its own session, and
    in `cgroup` (a cgroup.procs file: its CPU budget)."""
    def pin():
        if new_session:
            os.setsid()
        if cpus:
            os.sched_setaffinity(0, cpus)
        if cgroup:
            with open(cgroup, "w") as f:
                f.write(str(os.getpid()))
    return pin


class CpuBudget:
    """One cgroup per server under test, each allowed `share` of the server
    CPUs (a CFS quota over a 10 ms period), so that every server gets the
    same CPU and wrk, with a whole CPU of its own, is never what limits the
    throughput. cgroup v1 (the `cpu` hierarchy) or v2 (`cpu.max`)."""
    PERIOD_US = 10000

    def __init__(self, share, ncpus):
        self.quota_us = int(share * ncpus * self.PERIOD_US)
        self.allowed = share * ncpus  # CPU seconds per second
        self.dirs, self.lifted = [], False
        v1, v2 = "/sys/fs/cgroup/cpu", "/sys/fs/cgroup"
        if os.path.exists(os.path.join(v1, "cpu.cfs_quota_us")):
            self.base, self.v2 = v1, False
        elif "cpu" in open(os.path.join(v2, "cgroup.controllers")).read().split():
            with open(os.path.join(v2, "cgroup.subtree_control"), "w") as f:
                f.write("+cpu")
            self.base, self.v2 = v2, True
        else:
            raise OSError("no cgroup cpu controller (v1 /sys/fs/cgroup/cpu or v2 cpu.max)")
        probe = os.path.join(self.base, f"wok-bench-{os.getpid()}-probe")
        os.mkdir(probe)  # PermissionError when not root
        os.rmdir(probe)

    def group(self, name):
        """Creates the cgroup for `name`; returns its cgroup.procs path."""
        d = os.path.join(self.base, f"wok-bench-{os.getpid()}-{name}")
        os.makedirs(d, exist_ok=True)
        self.dirs.append(d)
        self.set_quota(d, self.quota_us)
        return os.path.join(d, "cgroup.procs")

    def set_quota(self, d, quota_us):
        """CPU microseconds per period for cgroup `d`; None: no limit."""
        def write(name, value):
            with open(os.path.join(d, name), "w") as f:
                f.write(value)
        if self.v2:
            write("cpu.max", f"{'max' if quota_us is None else quota_us} {self.PERIOD_US}")
        else:
            write("cpu.cfs_period_us", str(self.PERIOD_US))
            write("cpu.cfs_quota_us", str(-1 if quota_us is None else quota_us))

    def lift(self):
        """No limit any more (the proxies of (c) are the bottleneck
        without one: they cost more per request than wrk)."""
        for d in self.dirs:
            self.set_quota(d, None)
        self.lifted = True

    def remove(self):
        for d in self.dirs:
            for _ in range(50):  # until the last process in it has exited
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


def cpu_seconds(pgid):
    """User + system CPU time of every process in the process group `pgid`
    (nginx's master and workers, or one multi-threaded process)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields[0] is the state; [2] the process group
            total += int(fields[11]) + int(fields[12])
    return total / tick


def cpu_times():
    """Per CPU: (busy, total, stolen) jiffies from /proc/stat; time the
    hypervisor gave to other guests (steal) counts as busy."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *v = line.split()
                v = [int(x) for x in v]
                idle = v[3] + v[4]  # idle + iowait
                out[int(name[3:])] = (sum(v[:8]) - idle, sum(v[:8]), v[7])
    return out


def busy_share(before, after, cpus, field=0):
    """How busy (field 0) or stolen (field 2) the given CPUs were between two
    cpu_times(), from 0 to 1."""
    part = sum(after[c][field] - before[c][field] for c in cpus)
    total = sum(after[c][1] - before[c][1] for c in cpus)
    return part / total if total else 0.0


class Servers:
    def __init__(self, args, work):
        self.args, self.work, self.procs, self.pgid = args, work, [], {}

    def start(self, name, cmd, under_test=True, env=None):
        """Starts a server in its own process group, on the server CPUs,
        within the CPU budget if it is `under_test` (the origin is not)."""
        log = open(os.path.join(self.work, f"{name}.log"), "w")
        budget = self.args.budget
        cgroup = budget.group(name) if budget and not budget.lifted and under_test else None
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                             preexec_fn=pinned(self.args.server_cpus, new_session=True, cgroup=cgroup))
        self.procs.append(p)
        self.pgid[name] = p.pid
        return p

    def nginx(self, name, port, workers, under_test=True, access_log="access_log off;", site=NGINX_SITE, **site_args):
        conf = os.path.join(self.work, f"nginx-{name}.conf")
        os.makedirs(os.path.join(self.work, f"tmp-{name}"), exist_ok=True)
        http = site.format(port=port, root=self.args.root, upstream=PORTS["upstream"], **site_args)
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(workers=workers, dir=self.work, name=name, access_log=access_log, http=http))
        return self.start(name, ["nginx", "-c", conf, "-p", self.work, "-e", os.path.join(self.work, f"nginx-{name}.err")],
                          under_test)

    def stop_all(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)


def wrk(port, path, args, host="bench.test", pgid=None):
    """One wrk run (on the client CPUs). With `pgid`, also the server's CPU
    time per request: what it costs whoever is the bottleneck."""
    cmd = ["wrk", "-t", str(args.wrk_threads), "-c", str(args.connections), "-d", f"{args.duration}s",
           "--latency", "-H", f"Host: {host}", f"http://127.0.0.1:{port}{path}"]
    cpu0 = cpu_seconds(pgid) if pgid else 0
    stat0, wall0 = cpu_times(), time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 30,
                           preexec_fn=pinned(args.client_cpus))
        out = r.stdout
    except subprocess.TimeoutExpired:
        r, out = None, ""
    cpu = cpu_seconds(pgid) - cpu0 if pgid else 0
    stat1, wall = cpu_times(), time.monotonic() - wall0
    server_cpus = args.server_cpus or set(stat1)
    client_cpus = args.client_cpus or set(stat1)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        print(f"  wrk failed against port {port} (the server hung or crashed): "
              f"{(r.stderr if r else 'timeout').strip()[:300]}", flush=True)
        return None
    rps = float(m.group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock_errors = re.search(r"Socket errors: (.*)", out)

    def lat(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else (v * 1000 if unit == "s" else v)
    return {"rps": rps, "total": total, "p50": lat(50), "p99": lat(99), "cpu": cpu * 1e6 / total if total else 0,
            "server_busy": busy_share(stat0, stat1, server_cpus), "client_busy": busy_share(stat0, stat1, client_cpus),
            # How much of its CPU budget the server used: below 90%, it was
            # not the server that limited the throughput.
            "budget_use": (cpu / (args.budget.allowed * wall)
                           if args.budget and not args.budget.lifted and wall else None),
            "steal": busy_share(stat0, stat1, server_cpus | client_cpus, field=2),
            "non2xx": int(errors.group(1)) if errors else 0, "sockerr": sock_errors.group(1) if sock_errors else ""}


def run_scenario(title, targets, args, servers, reference="wok"):
    """targets: list of (name, server, port, path, host): `server` names the
    process group whose CPU time is counted. Rounds alternate the order."""
    results = {name: [] for name, *_ in targets}
    for r in range(args.rounds):
        order = targets if r % 2 == 0 else list(reversed(targets))
        for name, server, port, path, host in order:
            res = wrk(port, path, args, host, servers.pgid.get(server))
            if res is None:
                continue
            results[name].append(res)
            budget = res["budget_use"]
            busy = budget if budget is not None else res["server_busy"]
            # Under a budget, the server CPUs' busy share (sampled at each
            # tick) aliases with the quota's period: the server's own CPU
            # time (exact) against its budget says how busy it was.
            print(f"  round {r + 1} {name:8s} {res['rps']:10.0f} req/s  p50 {res['p50']:.3f} ms  "
                  f"p99 {res['p99']:.3f} ms  cpu {res['cpu']:5.1f} us/req  "
                  + (f"server used {budget:4.0%} of its budget, " if budget is not None
                     else f"busy: server CPUs {res['server_busy']:4.0%}, ")
                  + f"wrk CPUs {res['client_busy']:4.0%} busy"
                  + (f", stolen by the host {res['steal']:.0%}" if res["steal"] >= 0.005 else "")
                  + ("  (client-bound)" if args.server_cpus and busy < 0.9 else "")
                  + (f"  NON-2xx {res['non2xx']}" if res["non2xx"] else "")
                  + (f"  socket errors: {res['sockerr']}" if res["sockerr"] else ""), flush=True)
    print(f"{title}:")
    med = {}
    for name, rs in results.items():
        if not rs:
            print(f"  {name:8s} failed in every round")
            continue
        med[name] = {k: statistics.median(x[k] for x in rs) for k in ("rps", "p50", "p99", "cpu")}
        spread = (max(x["rps"] for x in rs) - min(x["rps"] for x in rs)) / med[name]["rps"] * 100
        print(f"  {name:8s} {med[name]['rps']:10.0f} req/s (spread {spread:4.1f}%)  p50 {med[name]['p50']:.3f} ms"
              f"  p99 {med[name]['p99']:.3f} ms  cpu {med[name]['cpu']:5.1f} us/req")
    ref = reference
    for name in med:
        if name == ref or ref not in med:
            continue
        print(f"  {ref}/{name}: throughput {med[ref]['rps'] / med[name]['rps']:.2f}x, "
              f"p50 {med[ref]['p50'] / med[name]['p50']:.2f}x, p99 {med[ref]['p99'] / med[name]['p99']:.2f}x, "
              f"cpu per request {med[ref]['cpu'] / med[name]['cpu']:.2f}x (latency and cpu: lower is better)")
    print(flush=True)
    return med, results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wok", required=True, help="the wok_router_bench binary")
    ap.add_argument("--workers", type=int, help="threads/processes per server (default: one per server CPU)")
    ap.add_argument("--pin", choices=("split", "off"), default="split",
                    help="split: servers (and the origin of (c)) on the first half of the CPUs, wrk on the "
                         "other half, so that the server, not the client, is what is measured; off: no pinning")
    ap.add_argument("--cpu-budget", type=float, default=0.3, metavar="SHARE",
                    help="with --pin split, in (a) and (b) each server may use this share of the server CPUs (a cgroup "
                         "CPU quota, the same for every server), so that wrk, with more CPU than the server, is not "
                         "the bottleneck; (c) runs without it; 0 or 1: no budget (needs root and the cgroup cpu "
                         "controller)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--only", default="a,b,c,up,tls,mem,pool,push",
                    help="scenarios: a,b,c,up,tls,mem,pool,push")
    ap.add_argument("--wok-bin", help="the wok binary, for push (push -> live through a webhook on `wok up`)")
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    if args.pin == "split" and len(cpus) >= 2:
        args.server_cpus, args.client_cpus = set(cpus[:len(cpus) // 2]), set(cpus[len(cpus) // 2:])
    else:
        args.server_cpus, args.client_cpus = None, None
    if args.workers is None:
        args.workers = len(args.server_cpus) if args.server_cpus else len(cpus)
    args.budget = None
    if args.server_cpus and 0 < args.cpu_budget < 1:
        try:
            args.budget = CpuBudget(args.cpu_budget, len(args.server_cpus))
        except OSError as e:
            print(f"no CPU budget ({e}); the servers get their CPUs whole, and wrk may be the bottleneck")
    only = set(args.only.split(","))
    args.only_set = only
    work = tempfile.mkdtemp(prefix="wok-bench-")
    os.chmod(work, 0o755)  # nginx workers run as www-data when started by root
    args.root = os.path.join(work, "site")
    os.makedirs(args.root)
    with open(os.path.join(args.root, "1k.txt"), "wb") as f:
        f.write(os.urandom(512).hex().encode())
    with open(os.path.join(args.root, "64k.txt"), "wb") as f:
        f.write(os.urandom(32768).hex().encode())
    print(f"machine: {os.cpu_count()} CPUs, {open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}")
    where = (f"servers and the origin on CPUs {sorted(args.server_cpus)}, wrk on CPUs {sorted(args.client_cpus)}"
             if args.server_cpus else "no CPU pinning")
    if args.budget:
        where += (f"; in (a) and (b) each server may use {args.budget.allowed:.2f} CPU (a cgroup quota of "
                  f"{args.budget.quota_us} us per {args.budget.PERIOD_US} us); (c) runs without a budget")
    print(f"{where}; workers per server: {args.workers}; wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s; "
          f"{args.rounds} rounds, alternating\n", flush=True)

    servers = Servers(args, work)
    try:  # noqa: SIM105 - the servers must stop whatever happens
        # The origin for (c), the same for every proxy, shares the servers'
        # CPUs: wrk alone on its own, so that it is not the bottleneck.
        servers.nginx("upstream", PORTS["upstream"], 1, under_test=False)
        servers.start("wok", [args.wok, "--port", str(PORTS["wok"]), "--threads", str(args.workers),
                              "--static", f"bench.test={args.root}"])
        servers.nginx("nginx", PORTS["nginx"], args.workers)
        for n in ("wok", "nginx", "upstream"):
            if not wait_port(PORTS[n]):
                sys.exit(f"{n} did not start; see {work}/{n}.log")
        for n in ("wok", "nginx"):
            status, body = fetch(PORTS[n], "/1k.txt")
            if status != 200 or len(body) != 1024:
                sys.exit(f"{n} does not serve /1k.txt ({status}): {body[:200]!r}")
        if "a" in only:
            run_scenario("(a) 1 KiB static file", [("wok", "wok", PORTS["wok"], "/1k.txt", "bench.test"),
                                                   ("nginx", "nginx", PORTS["nginx"], "/1k.txt", "bench.test")],
                         args, servers)
        if "b" in only:
            run_scenario("(b) 64 KiB static file", [("wok", "wok", PORTS["wok"], "/64k.txt", "bench.test"),
                                                    ("nginx", "nginx", PORTS["nginx"], "/64k.txt", "bench.test")],
                         args, servers)
        if ("up" in only or "tls" in only) and args.wok_bin:
            up_bench(servers, args, work)
        if "c" in only:
            if args.budget:
                args.budget.lift()
            proxy_bench(servers, args, work)
    finally:
        servers.stop_all()
        if args.budget:
            args.budget.remove()
    if "mem" in only:
        out = subprocess.run([args.wok, "--memory-sites", "100000"], capture_output=True, text=True).stdout
        print("memory per configured site (100,000 sites in the route table): " + out.strip())
    if "pool" in only and args.wok_bin:
        import static_pool  # bench/static_pool.py
        static_pool.run(args.wok_bin, args.wok)
    if "push" in only and args.wok_bin:
        import push_to_live  # bench/push_to_live.py
        push_to_live.run(args.wok_bin, rounds=max(args.rounds, 5))
    shutil.rmtree(work, ignore_errors=True)


H2O_CONF = """
num-threads: {workers}
listen: {{host: 127.0.0.1, port: {port}}}
access-log: {dir}/h2o-access.log
file.send-compressed: OFF
hosts:
  "bench.test":
    paths:
      /:
        file.dir: {root}
"""

UP_SITE = """apiVersion: wok.dev/v1alpha1
kind: Project
metadata: {{name: bench}}
spec:
  hosts: ["*.bench.localhost"]
---
apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: www, namespace: bench}}
spec:
  mode: static
  hosts: [www.bench.localhost]
  source: {{git: {{url: "file://{repo}", ref: main}}}}
"""


def up_bench(servers, args, work):
    """(u) what users run: `wok up` (its router with the access log and the
    per-site statistics on) serving a static site from git, against nginx
    with a buffered access log and h2o with its access log, same files."""
    repo = os.path.join(work, "up-repo")
    shutil.copytree(args.root, repo)
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@x", WOK_CONFIG=os.path.join(work, "up-config.yaml"))
    env.pop("WOK_TOKEN", None)
    env.pop("WOK_SERVER", None)
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
        subprocess.run(["git", "-C", repo, *cmd], check=True, capture_output=True, env=env)
    servers.start("wok-up", [args.wok_bin, "up", "--data", os.path.join(work, "up-data"), "--listen",
                             f"127.0.0.1:{PORTS['wok-up']}", "--listen-tls", f"127.0.0.1:{PORTS['wok-tls']}",
                             "--api", "127.0.0.1:0",
                             "--allow-local-source", work,
                             "--threads", str(args.workers)], env=env)
    log = os.path.join(work, "wok-up.log")
    deadline = time.time() + 60
    while not re.search(r"ready: api", open(log).read()):
        if time.time() > deadline:
            sys.exit(f"wok up did not start; see {log}")
        time.sleep(0.1)
    apply = subprocess.run([args.wok_bin, "apply", "-f", "-"], input=UP_SITE.format(repo=repo), text=True,
                           capture_output=True, env=env)
    if apply.returncode != 0:
        sys.exit(f"wok apply: {apply.stderr}")
    deadline = time.time() + 60
    while fetch(PORTS["wok-up"], "/1k.txt", "www.bench.localhost")[0] != 200:
        if time.time() > deadline:
            sys.exit(f"wok up does not serve the site; see {log}")
        time.sleep(0.2)
    servers.nginx("nginx-log", PORTS["nginx-log"], args.workers,
                  access_log=f"access_log {work}/nginx-log.access.log combined buffer=64k flush=1s;")
    targets = [("wok up", "wok-up", PORTS["wok-up"], "www.bench.localhost"),
               ("nginx", "nginx-log", PORTS["nginx-log"], "bench.test")]
    if shutil.which("h2o"):
        conf = os.path.join(work, "h2o.conf")
        with open(conf, "w") as f:
            f.write(H2O_CONF.format(workers=args.workers, port=PORTS["h2o"], dir=work, root=args.root))
        servers.start("h2o", ["h2o", "-c", conf])
        targets.append(("h2o", "h2o", PORTS["h2o"], "bench.test"))
    else:
        print("h2o is not installed: (u) compares with nginx only")
    for name, _, port, host in targets:
        if not wait_port(port):
            sys.exit(f"{name} did not start; see {work}")
        status, body = fetch(port, "/64k.txt", host)
        if status != 200 or len(body) != 65536:
            sys.exit(f"{name} does not serve /64k.txt ({status}): {body[:200]!r}")
    if "tls" in args.only_set:
        tls_bench(servers, args, work)
    if "up" not in args.only_set:
        return
    served = 0
    for size in ("1k", "64k"):
        _, results = run_scenario(f"(u) {size.replace('k', ' KiB')} static file, logs on: `wok up` / nginx (buffered "
                     "access log) / h2o (access log)",
                     [(name, server, port, f"/{size}.txt", host) for name, server, port, host in targets],
                     args, servers, reference="wok up")
        served += sum(r["total"] for r in results["wok up"])
    time.sleep(1)  # the writer's last batch
    logs = os.path.join(work, "up-data", "logs", "bench", "www")
    lines = sum(sum(1 for _ in open(os.path.join(logs, f))) for f in os.listdir(logs) if f.startswith("access.log"))
    api = re.search(r"ready: api http://[\d.]+:(\d+)", open(log).read()).group(1)
    with open(os.path.join(work, "up-data", "admin.token")) as f:
        token = f.read().strip()
    req = urllib.request.Request(f"http://127.0.0.1:{api}/metrics", headers={"Authorization": "Bearer " + token})
    metrics = urllib.request.urlopen(req, timeout=10).read().decode()
    dropped = re.search(r"^wok_access_log_lines_dropped_total (\d+)", metrics, re.M)
    print(f"  wok up answered {served} requests under wrk; its access log files hold {lines} lines (rotated at "
          f"10 MiB, 5 kept{': the oldest files were rotated away' if lines < served else ''}), lines dropped: "
          f"{dropped.group(1) if dropped else 'not reported'}\n", flush=True)


# The site of scenario (t): HTTPS and HTTP/2 with a P-256 certificate.
NGINX_TLS_SITE = """
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_tickets on;
  server {{
    listen 127.0.0.1:{port} ssl http2 reuseport;
    server_name www.bench.localhost;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    root {root};
  }}
"""


def h2load(port, path, args, pgid, new_connections, h2=False):
    """HTTPS/1.1 with h2load (SNI www.bench.localhost, connecting to
    127.0.0.1): kept-alive connections for args.duration, or batches of new
    connections with one request each (a full TLS handshake each: h2load
    resumes no session). Returns rate, and the server's CPU per request."""
    url = f"https://www.bench.localhost:{port}{path}"
    base = ["h2load", "-t", "1", f"--connect-to=127.0.0.1:{port}"] + ([] if h2 else ["--h1"])
    cpu0 = cpu_seconds(pgid)
    done, elapsed = 0, 0.0
    if not new_connections:
        # HTTP/2: 16 connections of 10 streams each, as browsers multiplex.
        load = ["-c", "16", "-m", "10"] if h2 else ["-c", str(args.connections)]
        cmds = [base + load + ["-D", str(args.duration), url]]
    else:
        cmds = []
        deadline = time.monotonic() + args.duration
    while True:
        if new_connections:
            if time.monotonic() >= deadline:
                break
            cmd = base + ["-c", "200", "-n", "200", "-m", "1", url]
        elif cmds:
            cmd = cmds.pop()
        else:
            break
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60,
                           preexec_fn=pinned(args.client_cpus))
        m = re.search(r"finished in ([\d.]+)(s|ms|us), ([\d.]+) req/s", r.stdout)
        # Only 2xx answers count (h2load's "succeeded" counts any answer).
        ok = re.search(r"status codes: (\d+) 2xx", r.stdout)
        if not m or not ok:
            print(f"  h2load failed against port {port}: {(r.stdout + r.stderr).strip()[-300:]}", flush=True)
            return None
        t = float(m.group(1)) / {"s": 1, "ms": 1e3, "us": 1e6}[m.group(2)]
        elapsed += t
        done += int(ok.group(1))
    cpu = cpu_seconds(pgid) - cpu0
    return {"rps": done / elapsed if elapsed else 0, "total": done, "cpu": cpu * 1e6 / done if done else 0}


def tls_bench(servers, args, work):
    """(t) HTTPS as users run it: `wok up` (logs on, a certificate from its
    local CA picked by SNI) against nginx (buffered access log), the same
    P-256 key type and files; kept-alive requests, and new connections."""
    if not shutil.which("h2load"):
        print("h2load (nghttp2-client) is not installed: no TLS benchmark")
        return
    # The same shape as wok up's certificate from its local CA: a P-256
    # leaf signed by a P-256 CA, the chain sent as leaf then CA.
    cert, key = os.path.join(work, "tls.crt"), os.path.join(work, "tls.key")
    ca, ca_key, csr = os.path.join(work, "ca.crt"), os.path.join(work, "ca.key"), os.path.join(work, "tls.csr")
    ext = os.path.join(work, "tls.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:www.bench.localhost\n")
    for cmd in (["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
                 "-out", ca, "-days", "2", "-subj", "/CN=bench CA"],
                ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                 "-subj", "/CN=www.bench.localhost"],
                ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
                 "-extfile", ext, "-out", cert]):
        subprocess.run(["openssl", *cmd], check=True, capture_output=True)
    with open(cert, "a") as chain, open(ca) as ca_pem:
        chain.write(ca_pem.read())
    os.chmod(key, 0o644)  # nginx's workers run as www-data
    servers.nginx("nginx-tls", PORTS["nginx-tls"], args.workers,
                  access_log=f"access_log {work}/nginx-tls.access.log combined buffer=64k flush=1s;",
                  site=NGINX_TLS_SITE, cert=cert, key=key)
    for name in ("wok-tls", "nginx-tls"):
        if not wait_port(PORTS[name]):
            sys.exit(f"{name} did not start; see {work}")
    targets = [("wok up", "wok-up", PORTS["wok-tls"]), ("nginx", "nginx-tls", PORTS["nginx-tls"])]
    for title, path, new, h2 in (("(t1) HTTPS, 1 KiB, kept-alive connections (h2load --h1 -c%d)" % args.connections,
                                  "/1k.txt", False, False),
                                 ("(t2) HTTPS, new connections: a full TLS handshake (ECDHE, P-256 ECDSA) and one "
                                  "1 KiB request each (h2load --h1, batches of 200)", "/1k.txt", True, False),
                                 ("(t3) HTTP/2 over TLS, 1 KiB, 16 connections of 10 streams (h2load -c16 -m10)",
                                  "/1k.txt", False, True),
                                 ("(t4) HTTP/2 over TLS, 64 KiB, 16 connections of 10 streams", "/64k.txt", False,
                                  True)):
        results = {name: [] for name, *_ in targets}
        for r in range(args.rounds):
            for name, server, port in (targets if r % 2 == 0 else list(reversed(targets))):
                res = h2load(port, path, args, servers.pgid.get(server), new, h2)
                if res:
                    results[name].append(res)
                    print(f"  round {r + 1} {name:8s} {res['rps']:10.0f} {'conn' if new else 'req'}/s  "
                          f"cpu {res['cpu']:7.1f} us/{'conn' if new else 'req'}", flush=True)
        print(f"{title}:")
        med = {}
        for name, rs in results.items():
            if rs:
                med[name] = {k: statistics.median(x[k] for x in rs) for k in ("rps", "cpu")}
                print(f"  {name:8s} {med[name]['rps']:10.0f} /s  cpu {med[name]['cpu']:7.1f} us each")
        if "wok up" in med and "nginx" in med:
            print(f"  wok up/nginx: throughput {med['wok up']['rps'] / med['nginx']['rps']:.2f}x, cpu each "
                  f"{med['wok up']['cpu'] / med['nginx']['cpu']:.2f}x (lower is better)\n", flush=True)


def proxy_bench(servers, args, work):
    wok_proxy_port = PORTS["wok"] + 10
    p = servers.start("wok-proxy", [args.wok, "--port", str(wok_proxy_port), "--threads", str(args.workers),
                                    "--proxy", f"app.test=127.0.0.1:{PORTS['upstream']}"])
    time.sleep(0.3)
    if p.poll() is not None or not wait_port(wok_proxy_port, 5):
        print("proxy bench skipped: wok has no proxy route yet\n")
        return
    status, body = fetch(wok_proxy_port, "/1k.txt", host="app.test")
    if status != 200 or len(body) != 1024:
        print(f"proxy bench skipped: wok's proxy route does not answer yet ({status})\n")
        return
    conf = os.path.join(work, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write(HAPROXY_CONF.format(workers=args.workers, port=PORTS["haproxy"], upstream=PORTS["upstream"]))
    servers.start("haproxy", ["haproxy", "-db", "-f", conf])
    if not wait_port(PORTS["haproxy"]):
        sys.exit(f"haproxy did not start; see {work}/haproxy.log")
    run_scenario("(c) proxy to a local upstream serving 1 KiB",
                 [("wok", "wok-proxy", wok_proxy_port, "/1k.txt", "app.test"),
                  ("nginx", "nginx", PORTS["nginx"], "/proxy/1k.txt", "bench.test"),
                  ("haproxy", "haproxy", PORTS["haproxy"], "/1k.txt", "bench.test")], args, servers)


if __name__ == "__main__":
    main()
