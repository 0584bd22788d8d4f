"""Secrets on the embedded platform (issue 14): `wok secret set` by a
developer, an app that reads its secret from env and serves it, a viewer who
sees names and keys but never a value, another project's member who can
neither read it nor reference it (a name resolves in the site's own project
only), values never in site objects, history, logs or the store's files, and
what a change or a deletion does (the next revision picks it up). Needs root
(runc, cgroups)."""
import json
import os
import secrets as pysecrets
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import Wok, WokTestCase, project_yaml, wait_for  # noqa: E402

NEEDS = [b for b in ("runc", "python3") if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

APP = """import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        keys = ('DB_PASSWORD', 'DB_USER', 'GREETING', 'PORT', 'WOK_PROJECT')
        body = ' '.join(k + '=' + os.environ.get(k, '-') for k in keys).encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()
"""


def app_site(name, project, url, secret="db"):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: {project}}}
spec:
  mode: app
  hosts: [{name}.{project}.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  app:
    components:
      - {{name: web, command: [python3, app.py], port: 8080, env: {{GREETING: from-spec}}, secrets: [{secret}]}}
  resources: {{memory: 128Mi}}
"""


@unittest.skipIf(SKIP, SKIP)
class SecretsTest(WokTestCase):
    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "15000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer"), ("vera", "viewer")]) +
                       "---\n" + project_yaml("team-b", ["*.team-b.localhost"], [("bob", "admin")]))
        self.alice, self.vera, self.bob = (self.wok.cli("token", "create", u).stdout.strip()
                                           for u in ("alice", "vera", "bob"))
        self.value = "pw-" + pysecrets.token_hex(12)

    def body(self, host):
        status, _, body = self.wok.get(host)
        return status, body.decode(errors="replace")

    def serve(self, host, text, timeout=60):
        return wait_for(lambda: (lambda r: r if r[0] == 200 and text in r[1] else None)(self.body(host)), timeout,
                        interval=0.2, what=f"{text!r} at {host}")

    def secret(self, *args, token, check=True):
        return self.wok.cli("secret", *args, token=token, check=check)

    def failed_revision(self, name, project, number):
        def failed():
            r = self.wok.cli("rollout", "history", "site", name, "-n", project, token=self.wok.admin_token).stdout
            rows = [line for line in r.splitlines() if line.split()[:1] == [str(number)]]
            return rows[0] if rows and "Failed" in rows[0] else None
        return wait_for(failed, 60, what=f"{project}/{name} revision {number} failed")

    def assert_nowhere(self, text):
        """Not in the store, the logs, the key file or anything else wok keeps in its data directory,
        except the OCI bundle runc starts the instance from (config.json, the process's env: see
        docs/security.md): runtime/instances/ID/{spec.json,bundle/config.json}."""
        for top, _, files in os.walk(self.wok.data):
            for f in files:
                path = os.path.join(top, f)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, "rb") as fh:
                    if text.encode() not in fh.read():
                        continue
                rel = os.path.relpath(path, self.wok.data)
                self.assertTrue(rel.startswith("runtime/instances/") and f in ("config.json", "spec.json"),
                                f"{text!r} found in {rel}")
        # ...those two reachable only through the data directory, root's alone.
        self.assertEqual(os.stat(self.wok.data).st_mode & 0o777, 0o700)
        self.assertNotIn(text, self.wok.logs())

    def test_app_reads_its_secret_and_only_its_members_see_values(self):
        r = self.secret("set", "db", "DB_PASSWORD=" + self.value, "GREETING=from-secret", "PORT=1", "-n", "team-a",
                        token=self.alice)
        self.assertIn("secret/db created", r.stdout)
        user_file = os.path.join(self.root, "user.txt")
        with open(user_file, "w") as f:
            f.write("app-user")
        self.secret("set", "db", "--from-file", "DB_USER=" + user_file, "-n", "team-a", token=self.alice)
        repo = self.repo("api", {"app.py": APP})
        self.wok.apply(app_site("api", "team-a", repo.url), token=self.alice)
        # The secret's keys; the spec's env and PORT win over a secret's key of the same name.
        body = self.serve("api.team-a.localhost", "DB_PASSWORD=" + self.value)[1]
        self.assertIn("DB_USER=app-user", body)
        self.assertIn("GREETING=from-spec", body)
        self.assertIn("PORT=8080", body)
        self.assertIn("WOK_PROJECT=team-a", body)

        # The developer reads values; the viewer sees names and keys only.
        r = self.secret("get", "db", "-n", "team-a", "--show-values", token=self.alice)
        self.assertIn("DB_PASSWORD=" + self.value, r.stdout)
        for args in (("get", "secrets", "-n", "team-a"), ("secret", "get", "-n", "team-a"),
                     ("secret", "get", "db", "-n", "team-a", "-o", "json")):
            r = self.wok.cli(*args, token=self.vera)
            self.assertIn("db", r.stdout)
            self.assertIn("DB_PASSWORD", r.stdout)
            self.assertNotIn(self.value, r.stdout)
        r = self.secret("get", "db", "-n", "team-a", "--show-values", token=self.vera, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("never their values", r.stderr)
        self.assertNotIn(self.value, r.stdout + r.stderr)
        r = self.secret("set", "db", "X=y", "-n", "team-a", token=self.vera, check=False)
        self.assertEqual(r.returncode, 1)

        # Another project's admin: nothing of team-a's.
        for args in (("get", "db", "-n", "team-a", "--show-values"), ("get", "-n", "team-a"),
                     ("delete", "db", "-n", "team-a")):
            r = self.secret(*args, token=self.bob, check=False)
            self.assertEqual(r.returncode, 1, args)
            self.assertNotIn(self.value, r.stdout + r.stderr)
        # ...and naming "db" in team-b means team-b's db, which does not exist.
        other = self.repo("other", {"app.py": APP})
        self.wok.apply(app_site("thief", "team-b", other.url), token=self.bob)
        row = self.failed_revision("thief", "team-b", 1)
        site = self.wok.cli("get", "site", "thief", "-n", "team-b", "-o", "json", token=self.bob).stdout
        self.assertIn('secret \\"db\\" not found in project \\"team-b\\"', site)
        self.assertNotIn(self.value, site + row)
        self.assertNotEqual(self.body("thief.team-b.localhost")[0], 200)

        # The platform admin may read every project's.
        r = self.secret("get", "db", "-n", "team-a", "--show-values", token=self.wok.admin_token)
        self.assertIn(self.value, r.stdout)

        # Never in the site, its history, the logs or the store's files.
        for args in (("get", "site", "api", "-n", "team-a", "-o", "yaml"),
                     ("describe", "site", "api", "-n", "team-a"),
                     ("rollout", "history", "site", "api", "-n", "team-a")):
            self.assertNotIn(self.value, self.wok.cli(*args, token=self.alice).stdout)
        self.assert_nowhere(self.value)
        key = os.path.join(self.wok.data, "secrets.key")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)

    def test_a_cron_job_of_the_component_gets_its_secrets_read_at_each_run(self):
        # As a Kubernetes Job's pod gets its component's envFrom when it is
        # created: a run started after a change sees the new value. The job
        # prints a hash, so that the value itself is in no run's log.
        self.secret("set", "db", "DB_PASSWORD=" + self.value, "-n", "team-a", token=self.alice)
        repo = self.repo("cron", {"app.py": APP})
        show = ("import hashlib, os; print('pw=' + hashlib.sha256(os.environ.get('DB_PASSWORD', '-').encode())"
                ".hexdigest(), 'greeting=' + os.environ.get('GREETING', '-'))")
        site = app_site("cron", "team-a", repo.url).replace(
            "  resources:", f"    jobs:\n      - {{name: show, schedule: \"@yearly\", command: [python3, -c, \"{show}\"]}}\n"
            "  resources:")
        self.wok.apply(site, token=self.alice)
        self.wok.wait_revision("cron", "team-a", 1)

        def run_and_read():
            before = self.wok.cli("logs", "site", "cron", "--job", "show", "-n", "team-a", check=False).stdout
            self.wok.cli("job", "run", "cron", "show", "-n", "team-a", token=self.alice)
            return wait_for(lambda: (lambda out: out if out != before and "pw=" in out else None)(
                self.wok.cli("logs", "site", "cron", "--job", "show", "-n", "team-a", check=False).stdout),
                60, interval=0.3, what="a run of job show")

        import hashlib
        digest = hashlib.sha256(self.value.encode()).hexdigest()
        out = run_and_read()
        self.assertIn("pw=" + digest, out)
        self.assertIn("greeting=from-spec", out)  # the spec's env still wins
        new_value = self.value + "-2"
        self.secret("set", "db", "DB_PASSWORD=" + new_value, "-n", "team-a", token=self.alice)
        out = run_and_read()
        self.assertIn("pw=" + hashlib.sha256(new_value.encode()).hexdigest(), out.split("pw=" + digest)[-1])
        self.assert_nowhere(self.value)

    def test_a_change_reaches_the_next_revision_and_a_missing_secret_fails_it(self):
        self.secret("set", "db", "DB_PASSWORD=" + self.value, "-n", "team-a", token=self.alice)
        repo = self.repo("api", {"app.py": APP})
        self.wok.apply(app_site("api", "team-a", repo.url), token=self.alice)
        self.serve("api.team-a.localhost", "DB_PASSWORD=" + self.value)
        # Running instances keep their values; `wok rollout restart` makes a revision that reads them again.
        self.secret("set", "db", "DB_PASSWORD=changed-" + self.value, "-n", "team-a", token=self.alice)
        self.assertIn("DB_PASSWORD=" + self.value + " ", self.body("api.team-a.localhost")[1])
        self.wok.cli("rollout", "restart", "site", "api", "-n", "team-a", token=self.alice)
        self.serve("api.team-a.localhost", "DB_PASSWORD=changed-" + self.value)
        # Deleted: the next revision fails naming the secret; the live one keeps serving.
        r = self.secret("delete", "db", "-n", "team-a", token=self.alice)
        self.assertIn("secret/db deleted", r.stdout)
        self.wok.cli("rollout", "restart", "site", "api", "-n", "team-a", token=self.alice)
        row = self.failed_revision("api", "team-a", 3)
        status = json.loads(self.wok.cli("get", "site", "api", "-n", "team-a", "-o", "json").stdout)["status"]
        self.assertIn('spec.app.components[0].secrets[0]: secret "db" not found in project "team-a"',
                      json.dumps(status) + row)
        self.assertIn("DB_PASSWORD=changed-", self.body("api.team-a.localhost")[1])
        # The live revision was planned again on every resync with the values it started with.
        self.assertNotIn("already runs another spec", self.wok.logs())
        self.assert_nowhere(self.value)

    def restart_wok(self):
        self.wok.stop()
        self.wok.close()
        self.wok = Wok(self.root, data=self.wok.data).start()

    def test_a_restart_of_wok_starts_instances_with_the_current_values(self):
        self.secret("set", "db", "DB_PASSWORD=" + self.value, "-n", "team-a", token=self.alice)
        repo = self.repo("api", {"app.py": APP})
        self.wok.apply(app_site("api", "team-a", repo.url), token=self.alice)
        self.serve("api.team-a.localhost", "DB_PASSWORD=" + self.value)
        # wok up stops its instances when it stops: they start again with today's values.
        self.secret("set", "db", "DB_PASSWORD=second-" + self.value, "-n", "team-a", token=self.alice)
        self.restart_wok()
        self.serve("api.team-a.localhost", "DB_PASSWORD=second-" + self.value)
        # Deleted meanwhile: the live revision cannot start, and its Ready condition says why.
        self.secret("delete", "db", "-n", "team-a", token=self.alice)
        self.restart_wok()

        def says_why():
            c = self.wok.site_json("api", "team-a").get("status", {}).get("conditions", [{}])[0]
            return c if 'secret "db" not found in project "team-a"' in c.get("message", "") else None
        ready = wait_for(says_why, 60, what="the Ready condition naming the missing secret")
        self.assertEqual(ready["status"], "False")
        self.assertIn("spec.app.components[0].secrets[0]", ready["message"])
        self.assertNotEqual(self.body("api.team-a.localhost")[0], 200)
        self.assert_nowhere("second-" + self.value)

    def test_hostile_input_is_refused_and_changes_nothing(self):
        for args, text in ((("set", "db", "NOEQUALS"), "KEY=VALUE"), (("set", "db", "=v"), "KEY=VALUE"),
                           (("set", "db", "A B=v"), "not a valid key"), (("set", "Bad_Name", "A=v"), "not a valid name"),
                           (("set", "db", "--from-file", "K=/nonexistent"), "cannot read"),
                           (("set", "db", "A=v"), "pass -n PROJECT")):
            extra = () if "pass -n" in text else ("-n", "team-a")
            r = self.secret(*args, *extra, token=self.alice, check=False)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(text, r.stderr, args)
        r = self.secret("get", "-n", "team-a", token=self.alice)
        self.assertIn("No secrets", r.stderr)
        # Kubernetes' own v1 Secret file applies as is, and deletes with -f.
        v1 = ("apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: team-a}\n"
              "data: {DB_USER: YXBw}\nstringData: {DB_PASSWORD: " + self.value + "}\n")
        self.assertIn("secret/db created", self.wok.apply(v1, token=self.alice).stdout)
        self.assertIn("secret/db configured", self.wok.apply(v1, token=self.alice).stdout)
        r = self.wok.apply(v1, token=self.vera, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertNotIn(self.value, r.stdout + r.stderr)
        r = self.secret("get", "db", "-n", "team-a", "--show-values", token=self.alice)
        self.assertEqual(r.stdout, "DB_PASSWORD=" + self.value + "\nDB_USER=app\n")
        r = self.wok.cli("delete", "-f", "-", token=self.alice, stdin=v1)
        self.assertIn("secret/db deleted", r.stdout)
        # A site naming an invalid secret name is refused at admission.
        repo = self.repo("api", {"app.py": APP})
        r = self.wok.apply(app_site("api", "team-a", repo.url, secret='"../db"'), token=self.alice, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("spec.app.components[0].secrets[0]", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
