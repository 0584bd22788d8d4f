"""Test harness: a real `wok up` on free ports, real git repositories, the real CLI.

Everything lives in a temporary directory that is removed at the end; the
client config goes there too (WOK_CONFIG), never to the user's home.
"""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

WOK = os.environ.get("WOK_BIN", os.path.join(os.path.dirname(__file__), "../../build/src/wok"))

# `make test` sets WOK_REQUIRE_ALL=1: on the machine CI runs on, a test that
# skips (no root, no runc, no php-fpm...) is a failure, not a silent pass.
# Only skips whose reason starts with "optional:" (a live Kubernetes cluster
# nobody configured) stay skips.
_unittest_main = unittest.main


class _StrictResult(unittest.TextTestResult):
    def addSkip(self, test, reason):
        if reason.startswith("optional:"):
            return super().addSkip(test, reason)
        self.addFailure(test, (AssertionError, AssertionError(
            f"skipped ({reason}) but WOK_REQUIRE_ALL=1: this machine must run it"), None))


def _strict_main(*args, **kwargs):
    if os.environ.get("WOK_REQUIRE_ALL") and "testRunner" not in kwargs:
        kwargs["testRunner"] = unittest.TextTestRunner(resultclass=_StrictResult,
                                                       verbosity=kwargs.get("verbosity", 1))
    return _unittest_main(*args, **kwargs)


unittest.main = _strict_main


def wait_for(predicate, timeout=30.0, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Wok:
    """One `wok up` process with its own data directory and client config."""

    def __init__(self, root, data=None, demo=False, args=(), allow_root=True):
        self.root = root
        self.args = list(args)  # more `wok up` flags
        # Tests keep their repositories under root and apply sites with
        # members' tokens: root is an allowed place for local sources.
        self.allow_root = allow_root
        self.data = data or os.path.join(root, "data")
        self.env = dict(os.environ, WOK_CONFIG=os.path.join(root, "config.yaml"))
        self.env.pop("WOK_TOKEN", None)
        self.env.pop("WOK_SERVER", None)
        self.demo = demo
        self.proc = None
        self.log_path = os.path.join(root, f"wok-{int(time.time() * 1000)}.log")

    def start(self):
        args = [WOK, "up", "--data", self.data, "--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0",
                "--api", "127.0.0.1:0"]
        if self.demo:
            args.append("--demo")
        if self.allow_root:
            args += ["--allow-local-source", self.root]
        args += self.args
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, env=self.env, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("wok up exited before ready:\n" + self.logs())
            m = re.search(r"ready: api (http://[\d.]+:(\d+)), sites http://[\d.]+:(\d+)"
                          r"(?:, https://[\d.]+:(\d+))?", line)
            if m:
                self.api_url, self.api_port, self.port = m.group(1), int(m.group(2)), int(m.group(3))
                self.tls_port = int(m.group(4)) if m.group(4) else None
                break
        else:
            raise AssertionError("wok up did not print ready")
        # Keep draining stdout so the process never blocks on a full pipe.
        import threading
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        return self

    def logs(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def close(self):
        if self.proc:
            self.proc.stdout.close()
        self.log.close()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(30)
        return self.proc.returncode if self.proc else None

    @property
    def admin_token(self):
        with open(os.path.join(self.data, "admin.token")) as f:
            return f.read().strip()

    def cli(self, *args, token=None, stdin=None, check=True):
        env = dict(self.env)
        if token:
            env["WOK_TOKEN"] = token
        r = subprocess.run([WOK, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"wok {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def apply(self, yaml_text, token=None, check=True):
        return self.cli("apply", "-f", "-", token=token, stdin=yaml_text, check=check)

    def get(self, host, path="/", headers=None, method="GET"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = {"Host": host}
        h.update(headers or {})
        conn.request(method, path, headers=h)
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body

    def raw(self, data, port=None):
        """Sends raw bytes to the public port; returns everything read until close."""
        s = socket.create_connection(("127.0.0.1", port or self.port), timeout=10)
        s.sendall(data)
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except socket.timeout:
            pass
        s.close()
        return b"".join(chunks)

    def site_json(self, name, project):
        import json
        r = self.cli("get", "site", name, "-n", project, "-o", "json")
        return json.loads(r.stdout)

    def wait_revision(self, name, project, revision, timeout=60, at_least=False):
        def ready():
            s = self.site_json(name, project).get("status", {})
            r = s.get("revision") or 0
            return s if (r >= revision if at_least else r == revision) and s.get("observedGeneration") else None
        return wait_for(ready, timeout, what=f"{project}/{name} at revision {revision}")


class GitRepo:
    """A real git repository (non-bare) made with the git CLI."""

    def __init__(self, path):
        self.path = path
        os.makedirs(path)
        self.git("init", "-q", "-b", "main")

    def git(self, *args):
        env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x", GIT_COMMITTER_NAME="t",
                   GIT_COMMITTER_EMAIL="t@x")
        return subprocess.run(["git", "-C", self.path, *args], check=True, capture_output=True, text=True,
                              env=env).stdout.strip()

    def write(self, files, message="change"):
        for name, content in files.items():
            p = os.path.join(self.path, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(content)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    @property
    def url(self):
        return "file://" + self.path


def unmount_under(path):
    """Unmounts what wok left mounted under `path` (its sites' storage volumes stay
    mounted when it stops, as across a restart), deepest first, before it is removed."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for p in sorted((p for p in points if p.startswith(path.rstrip("/") + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", p], check=False)


class WokTestCase(unittest.TestCase):
    demo = False
    wok_args = ()  # more `wok up` flags
    wok_env = {}  # more of `wok up`'s environment
    allow_root = True  # `--allow-local-source ROOT` (the test's repositories)

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="wok-it-")
        self.wok = Wok(self.root, demo=self.demo, args=self.wok_args, allow_root=self.allow_root)
        self.wok.env.update(self.wok_env)
        self.wok.start()

    def tearDown(self):
        try:
            if self.wok.proc and self.wok.proc.poll() is None:
                self.wok.stop()
            self.wok.close()
        finally:
            unmount_under(self.root)
            if os.environ.get("WOK_KEEP_TEST_DIRS"):
                print("kept", self.root)
            else:
                shutil.rmtree(self.root, ignore_errors=True)

    def repo(self, name, files):
        r = GitRepo(os.path.join(self.root, "repos", name))
        r.write(files, "first")
        return r


def restic(wok, *args, text=True):
    """restic on the one project repository of `wok` (its data directory's
    backups): what a backup holds, read as an admin of the host would."""
    backups = os.path.join(wok.data, "backups")
    (repo,) = os.listdir(os.path.join(backups, "keys"))
    r = subprocess.run(["restic", "--no-cache", *args],
                       env=dict(os.environ, RESTIC_REPOSITORY=os.path.join(backups, "repos", repo),
                                RESTIC_PASSWORD_FILE=os.path.join(backups, "keys", repo)),
                       capture_output=True, text=text, check=True, timeout=120)
    return r.stdout


def project_yaml(name, hosts, members=()):
    m = "".join(f"\n    - {{user: {u}, role: {r}}}" for u, r in members)
    hosts_s = ", ".join(f'"{h}"' for h in hosts)
    return f"""apiVersion: wok.dev/v1alpha1
kind: Project
metadata: {{name: {name}}}
spec:
  hosts: [{hosts_s}]
  members:{m if m else " []"}
"""


def site_yaml(name, project, hosts, url, ref="main", path=None, build=None, interval="1h"):
    src = f'{{url: "{url}", ref: {ref}, interval: {interval}' + (f", path: {path}" if path else "") + "}"
    text = f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: {project}}}
spec:
  mode: static
  hosts: [{", ".join(hosts)}]
  source: {{git: {src}}}
"""
    if build:
        text += f"  build: {build}\n"
    return text
