"""Issue 14: `storage` on an app site works on `wok up` as a PVC does on
Kubernetes: every replica of every component mounts the volume (under the
source for a component run from it), of its declared size (a write past it
fails with ENOSPC inside the sandbox), kept across redeploys, rollbacks and
restarts of wok. A member cannot point it out of their volume: `/proc`, `..`
and the sandbox's own directories are refused by field, a symlink in the
source is refused, never followed. Real `wok up`, real runc; needs root
(loop devices, mounts), as CI runs it."""
import json
import os
import shutil
import unittest

from wokharness import Wok, WokTestCase, project_yaml, wait_for

NEEDS = [b for b in ("runc", "python3", "mkfs.ext4") if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)
MiB = 1 << 20

# GET /put?name=N&text=T writes data/N; /fill?name=N&mib=M writes until M MiB
# or an error; / lists data/ with sizes and which instance answered.
APP = r"""import http.server, json, os, urllib.parse
INSTANCE = os.urandom(4).hex()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        out = {'instance': INSTANCE, 'version': open('version.txt').read().strip()}
        try:
            if u.path == '/put':
                with open('data/' + os.path.basename(q['name']), 'w') as f:
                    f.write(q['text'])
            elif u.path == '/fill':
                n, chunk = 0, b'x' * 65536
                try:
                    with open('data/' + os.path.basename(q['name']), 'wb') as f:
                        while n < int(q['mib']) * 1048576:
                            f.write(chunk)
                            f.flush()
                            n += len(chunk)
                        os.fsync(f.fileno())
                except OSError as e:
                    out['error'] = os.strerror(e.errno)
                out['bytes'] = n
            out['files'] = {e: os.path.getsize('data/' + e) for e in os.listdir('data')}
        except Exception as e:
            out['error'] = repr(e)
        body = json.dumps(out).encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()
"""


def site(url, path="data", size="8Mi", replicas=2):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: box, namespace: team-a}}
spec:
  mode: app
  hosts: [box.team-a.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  app:
    components:
      - {{name: web, command: [python3, app.py], port: 8080, replicas: {replicas}}}
  storage: [{{name: data, path: "{path}", size: {size}}}]
"""


@unittest.skipIf(SKIP, SKIP)
class AppStorageTest(WokTestCase):
    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "30000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], members=[("alice", "developer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.repo_ = self.repo("box", {"app.py": APP, "version.txt": "1"})

    def call(self, path):
        status, _, body = self.wok.get("box.team-a.localhost", path)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def serving(self, revision):
        self.wok.wait_revision("box", "team-a", revision, timeout=90)
        wait_for(lambda: self.wok.get("box.team-a.localhost", "/")[0] == 200, 60, interval=0.2,
                 what="the app to answer")

    def test_every_replica_shares_a_sized_volume_kept_across_redeploys_rollbacks_and_restarts(self):
        self.wok.apply(site(self.repo_.url), token=self.alice)
        self.serving(1)
        self.assertNotIn("error", self.call("/put?name=keep&text=precious"))
        # Both replicas see the file (round robin: ask until two answered).
        seen = {}
        wait_for(lambda: seen.update({(r := self.call("/"))["instance"]: r["files"]}) or len(seen) >= 2, 30,
                 interval=0.05, what="both replicas to answer")
        for files in seen.values():
            self.assertEqual(files.get("keep"), 8)

        # Over the size: ENOSPC inside the sandbox, not the host's disk.
        fill = self.call("/fill?name=fill&mib=50")
        self.assertEqual(fill.get("error"), os.strerror(28), fill)
        self.assertLessEqual(fill["bytes"], 8 * MiB)

        # A redeploy (a new commit), then a rollback: the files stay.
        self.repo_.write({"version.txt": "2"}, "second")
        self.wok.cli("refresh", "site", "box", "-n", "team-a", token=self.alice)
        self.serving(2)
        r = self.call("/")
        self.assertEqual((r["version"], r["files"].get("keep")), ("2", 8))
        self.wok.cli("rollout", "undo", "site", "box", "-n", "team-a", token=self.alice)
        wait_for(lambda: self.call("/")["version"] == "1", 90, interval=0.3, what="the rollback")
        self.assertEqual(self.call("/")["files"].get("keep"), 8)

        # A restart of wok: the volume is mounted again, the files are there.
        self.wok.stop()
        self.wok.close()
        self.wok = Wok(self.root, data=self.wok.data).start()
        wait_for(lambda: self.wok.get("box.team-a.localhost", "/")[0] == 200, 90, interval=0.3,
                 what="the app to answer after the restart")
        self.assertEqual(self.call("/")["files"].get("keep"), 8)

    def test_hostile_paths_are_refused_by_field_and_a_source_symlink_is_never_followed(self):
        for hostile in ("/proc", "..", "data/../../etc", "proc", "etc", "run/wok"):
            r = self.wok.apply(site(self.repo_.url, path=hostile), token=self.alice, check=False)
            self.assertNotEqual(r.returncode, 0, hostile)
            self.assertIn("spec.storage[0].path", r.stderr, hostile)
        # data -> /etc in the member's repository: the revision fails, naming
        # the volume; nothing is mounted over /etc.
        os.symlink("/etc", os.path.join(self.repo_.path, "data"))
        self.repo_.git("add", "-A")
        self.repo_.git("commit", "-qm", "a link out")
        self.wok.apply(site(self.repo_.url), token=self.alice)

        def failed():
            s = self.wok.site_json("box", "team-a").get("status", {})
            return s if 'storage "data"' in (s.get("lastError") or "") else None
        s = wait_for(failed, 90, interval=0.3, what="the revision to fail")
        self.assertIn('path "data"', s["lastError"])


if __name__ == "__main__":
    unittest.main()
