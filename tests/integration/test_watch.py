"""Issue 17, the live API: `wok get sites -w` follows a project's sites
through the API's watch (rows as they change, a deletion too), `wok wait
--for=condition=Ready|delete|jsonpath=...` returns when it holds and fails
on timeout; a stranger's watch is refused. Real `wok up`, real git."""
import json
import os
import queue
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.request

from wokharness import WOK, WokTestCase, project_yaml, site_yaml


class Lines:
    """A long-running `wok` whose stdout lines are read as they come."""

    def __init__(self, wok, *args, token=None):
        env = dict(wok.env)
        if token:
            env["WOK_TOKEN"] = token
        self.proc = subprocess.Popen([WOK, *args], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, predicate, timeout=60):
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                break
            seen.append(line)
            if predicate(line):
                return line
        raise AssertionError("no such line; saw:\n" + "\n".join(seen))

    def stop(self):
        self.proc.kill()
        self.proc.wait(10)
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        self.proc.stdout.close()
        return err


class WatchTest(WokTestCase):
    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "viewer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.eve = self.wok.cli("token", "create", "eve").stdout.strip()

    def site(self, name):
        repo = self.repo(name, {"index.html": name + "\n"})
        return site_yaml(name, "team-a", [f"{name}.team-a.localhost"], repo.url)

    def test_get_watch_prints_each_change_and_wait_returns_when_it_holds(self):
        self.wok.apply(self.site("www"))
        watch = Lines(self.wok, "get", "sites", "-n", "team-a", "-w", token=self.alice)
        try:
            watch.wait_for(lambda l: l.startswith("NAME"))
            watch.wait_for(lambda l: l.startswith("www "))
            self.wok.apply(self.site("blog"))
            # The new site appears without polling, then as it becomes Ready.
            watch.wait_for(lambda l: l.startswith("blog "))
            r = self.wok.cli("wait", "site", "blog", "-n", "team-a", "--for=condition=Ready",
                             "--timeout=2m", token=self.alice)
            self.assertEqual(r.stdout, "site.wok.dev/blog condition met\n")
            # NAME MODE HOSTS READY ...: the row that says Ready came by itself.
            watch.wait_for(lambda l: l.split()[:1] == ["blog"] and l.split()[3] == "True")
            revision = self.wok.cli("get", "site", "blog", "-n", "team-a", "-o",
                                    "jsonpath={.status.revision}").stdout
            r = self.wok.cli("wait", "site", "blog", "-n", "team-a",
                             "--for=jsonpath={.status.revision}=" + revision, token=self.alice)
            self.assertEqual(r.returncode, 0)

            # --for=delete, waiting before the deletion.
            waiter = subprocess.Popen([WOK, "wait", "site", "blog", "-n", "team-a", "--for=delete",
                                       "--timeout=1m"], env=dict(self.wok.env, WOK_TOKEN=self.alice),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            self.wok.cli("delete", "site", "blog", "-n", "team-a")
            out, err = waiter.communicate(timeout=30)  # closes its pipes
            self.assertEqual((waiter.returncode, out), (0, "site.wok.dev/blog condition met\n"), err)
            # The watch showed the deletion (the last state's row).
            watch.wait_for(lambda l: l.startswith("blog "))
            # Gone already: --for=delete holds at once.
            r = self.wok.cli("wait", "site", "blog", "-n", "team-a", "--for=delete")
            self.assertEqual(r.stdout, "site.wok.dev/blog condition met\n")
        finally:
            err = watch.stop()
        self.assertEqual(err, "")

    def test_wait_times_out_and_refuses_what_it_cannot_watch(self):
        self.wok.apply(self.site("www"))
        self.wok.cli("wait", "site", "www", "-n", "team-a", "--for=condition=Ready", "--timeout=2m")
        started = time.time()
        r = self.wok.cli("wait", "site", "www", "-n", "team-a", "--for=condition=Ready=False",
                         "--timeout=2s", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("error: timed out waiting for the condition on sites/www", r.stderr)
        self.assertLess(time.time() - started, 30)
        r = self.wok.cli("wait", "site", "nope", "-n", "team-a", "--for=condition=Ready", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn('site "nope" not found in project "team-a"', r.stderr)
        r = self.wok.cli("wait", "site", "www", "-n", "team-a", "--for=ready", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--for must be delete, condition=TYPE[=STATUS] or jsonpath", r.stderr)
        # A stranger: refused, by the watch as by a GET.
        r = self.wok.cli("get", "sites", "-n", "team-a", "-w", token=self.eve, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn('no access to project "team-a"', r.stderr)
        r = self.wok.cli("wait", "site", "www", "-n", "team-a", "--for=delete", token=self.eve,
                         check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn('no access to project "team-a"', r.stderr)
        r = self.wok.cli("get", "secrets", "-n", "team-a", "-w", check=False)
        self.assertIn("secrets cannot be watched", r.stderr)

    def test_the_raw_api_streams_json_lines_from_a_lists_version(self):
        self.wok.apply(self.site("www"))
        def get(path):
            q = urllib.request.Request(self.wok.api_url + path,
                                       headers={"Authorization": "Bearer " + self.alice})
            return urllib.request.urlopen(q, timeout=30)
        base = "/apis/wok.dev/v1alpha1/namespaces/team-a/sites"
        listed = json.load(get(base))
        version = listed["metadata"]["resourceVersion"]
        stream = get(base + "?watch=1&timeoutSeconds=5&resourceVersion=" + version)
        self.wok.cli("refresh", "site", "www", "-n", "team-a")
        events = []
        for line in stream:  # ends at timeoutSeconds
            events.append(json.loads(line))
        self.assertTrue(events, "no change streamed")
        for e in events:
            self.assertEqual(e["type"], "MODIFIED")
            self.assertEqual(e["object"]["metadata"]["name"], "www")
            self.assertGreater(int(e["object"]["metadata"]["resourceVersion"]), int(version))

    def test_events_say_what_happened_to_a_site(self):
        www = self.site("www")
        self.wok.apply(www)
        self.wok.cli("wait", "site", "www", "-n", "team-a", "--for=condition=Ready", "--timeout=2m")
        # A source that cannot be fetched: a Warning, about that site only.
        missing = os.path.join(self.root, "repos", "missing")
        self.wok.apply(site_yaml("bad", "team-a", ["bad.team-a.localhost"], missing))
        self.wok.cli("wait", "site", "bad", "-n", "team-a", "--for=jsonpath={.status.conditions[0].reason}=FetchFailed",
                     "--timeout=1m")
        events = self.wok.cli("get", "events", "-n", "team-a", token=self.alice).stdout
        lines = events.splitlines()
        self.assertEqual(lines[0].split(), ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"])
        self.assertTrue(any("RevisionCreated" in l and "site/www" in l and "revision 1: created" in l
                            for l in lines), events)
        self.assertTrue(any(" Deployed " in l and "site/www" in l and "revision 1 serves commit" in l
                            for l in lines), events)
        self.assertTrue(any("Warning" in l and "FetchFailed" in l and "site/bad" in l for l in lines),
                        events)
        only = self.wok.cli("get", "events", "-n", "team-a", "--for", "site/bad", "-o", "json").stdout
        items = json.loads(only)["items"]
        self.assertTrue(items)
        self.assertEqual({i["involvedObject"]["name"] for i in items}, {"bad"})
        described = self.wok.cli("describe", "site", "www", "-n", "team-a").stdout
        self.assertIn("Events:", described)
        self.assertRegex(described, r"Normal\s+Deployed\s+\S+\s+wok-controller\s+revision 1 serves")

        # Live: a change of the spec shows as it happens.
        watch = Lines(self.wok, "get", "events", "-n", "team-a", "--watch-only", token=self.alice)
        try:
            time.sleep(0.5)
            self.wok.apply(www.replace("www.team-a.localhost]",
                                                    "www.team-a.localhost, w2.team-a.localhost]"))
            watch.wait_for(lambda l: "RevisionCreated" in l and "revision 2: apply: spec changed" in l)
        finally:
            watch.stop()

        # Strangers see none; nobody writes them through the API.
        r = self.wok.cli("get", "events", "-n", "team-a", token=self.eve, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn('no access to project "team-a"', r.stderr)
        q = urllib.request.Request(self.wok.api_url + "/apis/wok.dev/v1alpha1/namespaces/team-a/events",
                                   data=b"{}", method="POST",
                                   headers={"Authorization": "Bearer " + self.wok.admin_token,
                                            "Content-Type": "application/json"})
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(q, timeout=10)
        self.assertEqual(refused.exception.code, 405)

    def test_audit_log_records_changes_for_the_platform_admin(self):
        self.wok.apply(self.site("www"))
        r = self.wok.cli("delete", "site", "www", "-n", "team-a", token=self.alice, check=False)
        self.assertEqual(r.returncode, 1)
        self.wok.cli("secret", "set", "db", "PASSWORD=s3cret-value-xyz", "-n", "team-a")
        out = self.wok.cli("audit").stdout
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["TIME", "USER", "FROM", "VERB", "OBJECT", "CODE", "CHANGE"])
        self.assertTrue(any("admin" in l and "create" in l and "site/team-a/www" in l and "201" in l
                            for l in lines), out)
        self.assertTrue(any("alice" in l and "delete" in l and "403 refused" in l for l in lines), out)
        self.assertTrue(any("secret/team-a/db" in l and '["PASSWORD"]' in l for l in lines), out)
        mine = self.wok.cli("audit", "--user", "alice", "-o", "json").stdout
        items = json.loads(mine)["items"]
        self.assertEqual([(i["user"], i["decision"], i["sourceIP"]) for i in items],
                         [("alice", "refused", "127.0.0.1")])
        r = self.wok.cli("audit", token=self.alice, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("only the platform admin may read the audit log", r.stderr)
        with open(os.path.join(self.wok.data, "audit", "audit.log")) as f:
            text = f.read()
        self.assertNotIn("s3cret-value-xyz", text)
        self.assertNotIn(self.alice, text)
        self.assertEqual(os.stat(os.path.join(self.wok.data, "audit", "audit.log")).st_mode & 0o777, 0o600)


if __name__ == "__main__":
    from wokharness import _strict_main
    _strict_main()
