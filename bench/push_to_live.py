"""Push -> live on `wok up` (docs/webhooks.md): a static site from a local git
repository, then per round: a commit, a GitHub-style push webhook, and the
router polled until it answers the new content. Reports the time from the
webhook's POST to the first answer with the new content (median, min, max),
and for comparison the same with `wok refresh` instead of the hook.

Run by bench.py (`make bench`, scenario `push`), or alone:
    python3 bench/push_to_live.py --wok-bin build/src/wok [--rounds 7]
"""
import argparse
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time

SECRET = "bench-" + "0123456789abcdef" * 2
PROJECT = """apiVersion: wok.dev/v1alpha1
kind: Project
metadata: {name: bench}
spec:
  hosts: ["*.bench.localhost"]
---
apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {name: www, namespace: bench}
spec:
  mode: static
  hosts: [www.bench.localhost]
  source: {git: {url: "file://REPO", ref: main, interval: 1h, webhookSecret: hooks}}
"""


class WokUp:
    def __init__(self, wok_bin, root):
        self.wok_bin, self.root = wok_bin, root
        self.env = dict(os.environ, WOK_CONFIG=os.path.join(root, "config.yaml"))
        self.env.pop("WOK_TOKEN", None)
        self.env.pop("WOK_SERVER", None)
        self.log = open(os.path.join(root, "wok.log"), "w")
        self.proc = subprocess.Popen(
            [wok_bin, "up", "--data", os.path.join(root, "data"), "--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0", "--api",
             "127.0.0.1:0", "--allow-local-source", root],
            stdout=subprocess.PIPE, stderr=self.log, env=self.env, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"wok up exited; see {root}/wok.log")
            m = re.search(r"ready: api http://[\d.]+:(\d+), sites http://[\d.]+:(\d+)", line)
            if m:
                self.api_port, self.port = int(m.group(1)), int(m.group(2))
                break
        else:
            raise SystemExit("wok up did not print ready")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def cli(self, *args, stdin=None):
        r = subprocess.run([self.wok_bin, *args], env=self.env, input=stdin, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise SystemExit(f"wok {' '.join(args)}: {r.stderr}")
        return r.stdout

    def get(self, conn):
        conn.request("GET", "/", headers={"Host": "www.bench.localhost"})
        r = conn.getresponse()
        return r.status, r.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@x")
    subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, env=env)


def commit(repo, text):
    with open(os.path.join(repo, "index.html"), "w") as f:
        f.write(text)
    git(repo, "commit", "-q", "-am", text)


def wait_served(wok, text, timeout=30):
    """Polls the router (keep-alive, every millisecond) until it answers `text`."""
    conn = http.client.HTTPConnection("127.0.0.1", wok.port, timeout=10)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            status, body = wok.get(conn)
            if status == 200 and body == text.encode():
                return time.monotonic()
            time.sleep(0.001)
    finally:
        conn.close()
    raise SystemExit(f"{text!r} not served after {timeout}s")


def post_hook(wok):
    body = b'{"ref": "refs/heads/main"}'
    sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    conn = http.client.HTTPConnection("127.0.0.1", wok.api_port, timeout=10)
    conn.request("POST", "/hooks/v1/projects/bench/sites/www", body=body,
                 headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sig,
                          "Content-Type": "application/json"})
    r = conn.getresponse()
    answer = r.read()
    conn.close()
    if r.status != 202:
        raise SystemExit(f"webhook answered {r.status}: {answer!r}")


def measure(wok, repo, rounds, trigger, label):
    times = []
    for i in range(rounds):
        text = f"{label} round {i} {time.time()}"
        commit(repo, text)
        # Past the webhook's one-second window: each round's hook triggers at once.
        time.sleep(1.1)
        t0 = time.monotonic()
        trigger()
        times.append(wait_served(wok, text) - t0)
    return times


def report(label, times):
    ms = sorted(t * 1000 for t in times)
    print(f"  {label}: median {statistics.median(ms):.0f} ms, min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms "
          f"({len(ms)} rounds: {', '.join(f'{t:.0f}' for t in ms)})", flush=True)
    return statistics.median(ms)


def run(wok_bin, rounds=7):
    root = tempfile.mkdtemp(prefix="wok-push-bench-")
    wok = None
    try:
        repo = os.path.join(root, "repo")
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        with open(os.path.join(repo, "index.html"), "w") as f:
            f.write("first")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "first")
        wok = WokUp(wok_bin, root)
        wok.cli("apply", "-f", "-", stdin=PROJECT.replace("REPO", repo))
        wok.cli("secret", "set", "hooks", "token=" + SECRET, "-n", "bench")
        wait_served(wok, "first", timeout=60)
        print("(d) push -> live: a commit, then the time from the webhook's POST (or `wok refresh`) to the "
              "router's first answer with the new content; a static site from a local repository on `wok up`")
        hook = report("webhook", measure(wok, repo, rounds, lambda: post_hook(wok), "hook"))
        report("wok refresh", measure(wok, repo, rounds,
                                      lambda: wok.cli("refresh", "site", "www", "-n", "bench"), "refresh"))
        print()
        return hook
    finally:
        if wok:
            wok.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--wok-bin", required=True, help="the wok binary")
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    run(a.wok_bin, a.rounds)
