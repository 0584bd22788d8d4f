"""Push webhooks on a real `wok up` (docs/webhooks.md): a real git repository,
a commit, then a GitHub-, a GitLab-, a Gitea-style and a plain hook POSTed to
the API port without a bearer token, and the router serving the new content.
Then what an attacker on the internet or a member of another project does
with the endpoint: no signature, a wrong one, another site's secret, unknown
sites and projects, a huge body, malformed JSON, hostile paths, a burst of
replays; each answered without refreshing anything (or, for the burst, with
at most two refreshes) and without saying which projects or sites exist."""
import hashlib
import hmac
import http.client
import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import WokTestCase, project_yaml, site_yaml, wait_for  # noqa: E402

SECRET = "a3f1c2e4b5d6978812345678deadbeefcafe0123456789abcdef0011223344"
OTHER_SECRET = "0f0e0d0c0b0a09080706050403020100ffeeddccbbaa99887766554433221100"


def github_headers(body, secret=SECRET, event="push"):
    sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-GitHub-Event": event, "X-Hub-Signature-256": "sha256=" + sig,
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}


def push_body(ref="refs/heads/main", **extra):
    return json.dumps(dict({"ref": ref, "before": "0" * 40, "after": "1" * 40}, **extra)).encode()


class WebhooksTest(WokTestCase):
    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer"), ("vera", "viewer")]) +
                       "---\n" + project_yaml("team-b", ["*.team-b.localhost"], [("bob", "admin")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.bob = self.wok.cli("token", "create", "bob").stdout.strip()
        self.wok.cli("secret", "set", "www-hooks", "token=" + SECRET, "-n", "team-a", token=self.alice)
        self.wok.cli("secret", "set", "blog-hooks", "token=" + OTHER_SECRET, "-n", "team-b", token=self.bob)
        self.www = self.repo("www", {"index.html": "v1"})
        self.blog = self.repo("blog", {"index.html": "blog v1"})
        self.apply_site("www", "team-a", self.www, "www-hooks", self.alice)
        self.apply_site("blog", "team-b", self.blog, "blog-hooks", self.bob)
        self.serves("www.team-a.localhost", "v1")
        self.serves("blog.team-b.localhost", "blog v1")

    def apply_site(self, name, project, repo, secret, token):
        text = site_yaml(name, project, [f"{name}.{project}.localhost"], repo.url, interval="1h")
        text = text.replace("interval: 1h}", f"interval: 1h, webhookSecret: {secret}}}")
        self.wok.apply(text, token=token)

    def serves(self, host, text, timeout=60):
        def check():
            status, _, body = self.wok.get(host)
            return status == 200 and body.decode() == text
        wait_for(check, timeout, interval=0.05, what=f"{host} serving {text!r}")

    def post(self, path, body, headers=None, method="POST"):
        conn = http.client.HTTPConnection("127.0.0.1", self.wok.api_port, timeout=10)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        try:
            message = json.loads(data).get("message", "")
        except ValueError:
            message = data.decode(errors="replace")
        return r.status, message, data

    def hook(self, body, headers, site="www", project="team-a"):
        return self.post(f"/hooks/v1/projects/{project}/sites/{site}", body, headers)

    def refreshes(self, name="www", project="team-a"):
        return self.wok.site_json(name, project).get("status", {}).get("refreshRequests", 0)

    def test_github_gitlab_gitea_and_plain_pushes_deploy(self):
        self.www.write({"index.html": "v2"})
        body = push_body()
        status, message, _ = self.hook(body, github_headers(body))
        self.assertEqual(status, 202, message)
        self.assertIn("refresh of site team-a/www requested", message)
        self.serves("www.team-a.localhost", "v2")

        self.www.write({"index.html": "v3"})
        status, message, _ = self.hook(body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET})
        self.assertEqual(status, 202, message)
        self.serves("www.team-a.localhost", "v3")

        self.www.write({"index.html": "v4"})
        sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        status, message, _ = self.hook(body, {"X-Gitea-Event": "push", "X-Gitea-Signature": sig,
                                              "X-GitHub-Event": "push"})
        self.assertEqual(status, 202, message)
        self.serves("www.team-a.localhost", "v4")

        # A plain post-receive hook: GitHub's header, no event header.
        self.www.write({"index.html": "v5"})
        plain = b'{"ref": "refs/heads/main"}'
        status, message, _ = self.hook(plain, {"X-Hub-Signature-256": github_headers(plain)["X-Hub-Signature-256"]})
        self.assertEqual(status, 202, message)
        self.serves("www.team-a.localhost", "v5")

        # GitHub's form content type: the JSON in the `payload` field.
        self.www.write({"index.html": "v6"})
        import urllib.parse
        form = ("payload=" + urllib.parse.quote(body.decode())).encode()
        headers = github_headers(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, message, _ = self.hook(form, headers)
        self.assertEqual(status, 202, message)
        self.serves("www.team-a.localhost", "v6")
        history = self.wok.cli("rollout", "history", "site", "www", "-n", "team-a", token=self.alice).stdout
        self.assertEqual(len([line for line in history.splitlines() if "Deployed" in line]), 6, history)

    def test_other_branch_ping_and_other_events_refresh_nothing(self):
        before = self.refreshes()
        body = push_body("refs/heads/dev")
        status, message, _ = self.hook(body, github_headers(body))
        self.assertEqual((status, message), (200, "ignored: ref refs/heads/dev is not the site's ref main"))
        ping = b'{"zen": "Practicality beats purity.", "hook_id": 1}'
        status, message, _ = self.hook(ping, github_headers(ping, event="ping"))
        self.assertEqual(status, 200)
        self.assertIn("pong", message)
        status, message, _ = self.hook(b"{}", github_headers(b"{}", event="issues"))
        self.assertEqual((status, message), (200, 'ignored: event "issues" is not a push'))
        deleted = push_body(deleted=True)
        status, message, _ = self.hook(deleted, github_headers(deleted))
        self.assertEqual(status, 200, message)
        self.assertEqual(self.refreshes(), before)

    def test_wrong_or_missing_signature_refreshes_nothing_and_reveals_nothing(self):
        self.www.write({"index.html": "pushed by someone else"})
        before = self.refreshes()
        body = push_body()
        # No signature at all; a member's bearer token does not stand in for one.
        status, message, _ = self.hook(body, {"X-GitHub-Event": "push", "Authorization": "Bearer " + self.alice})
        self.assertEqual(status, 401)
        self.assertIn("no signature", message)
        wrong = self.hook(body, github_headers(body, secret="guessed-" + "x" * 32))
        self.assertEqual(wrong[0], 401)
        self.assertEqual(self.hook(body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET[:-1]})[0], 401)
        # Bob (team-b) signs with his own site's secret and aims at team-a's www.
        self.assertEqual(self.hook(body, github_headers(body, secret=OTHER_SECRET))[0], 401)
        # Unknown site, unknown project, and a real site that takes no hooks: the same
        # answer, byte for byte, as a wrong signature.
        self.wok.apply(site_yaml("nohooks", "team-a", ["nohooks.team-a.localhost"], self.www.url), token=self.alice)
        for site, project in (("nope", "team-a"), ("www", "nope"), ("nohooks", "team-a"), ("blog", "team-a")):
            got = self.hook(body, github_headers(body), site=site, project=project)
            self.assertEqual(got, wrong, (site, project))
        for text in (wrong[2], ):
            self.assertNotIn(b"team-b", text)
        self.assertEqual(self.refreshes(), before)
        status, _, _ = self.wok.get("www.team-a.localhost")
        self.assertEqual(self.wok.get("www.team-a.localhost")[2], b"v1")

    def test_huge_body_malformed_json_and_hostile_paths(self):
        before = self.refreshes()
        huge = b'{"ref": "refs/heads/main", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        status, message, _ = self.hook(huge, github_headers(huge))
        self.assertEqual(status, 413, message)
        for bad in (b"{", b"[]", b'{"ref": 1}', b"{}", b"\xff\xfe"):
            status, message, _ = self.hook(bad, github_headers(bad))
            self.assertEqual(status, 400, (bad, message))
        body = push_body()
        for path in ("/hooks/v1/projects/team-a/sites/../sites/www", "/hooks/v1/projects/../projects/team-a/sites/www",
                     "/hooks/v1/projects/team-a/sites/%2e%2e", "/hooks/v1/projects/team-a/sites/www%2F..",
                     "/hooks/v1/projects/team-a/sites/www/", "/hooks/v1/projects/team-a//sites/www",
                     "/hooks/../apis/wok.dev/v1alpha1/namespaces/team-a/sites/www/refresh",
                     "/hooks/v1/projects/team-a/secrets/www-hooks", "/hooks/v1/projects/TEAM-A/sites/www"):
            status, message, _ = self.post(path, body, github_headers(body))
            self.assertEqual(status, 404, (path, message))
        status, _, _ = self.post("/hooks/v1/projects/team-a/sites/www", b"", {}, method="GET")
        self.assertEqual(status, 405)
        # The same through a raw socket (no client-side normalisation of the path).
        raw = (b"POST /hooks/v1/projects/team-a/sites/www/../../../../apis/wok.dev/v1alpha1/projects HTTP/1.1\r\n"
               b"Host: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        s = socket.create_connection(("127.0.0.1", self.wok.api_port), timeout=10)
        s.sendall(raw)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 404"), reply[:200])
        self.assertNotIn(b"team-a", reply)
        self.assertEqual(self.refreshes(), before)

    def test_burst_of_pushes_is_coalesced_and_the_last_one_served(self):
        before = self.refreshes()
        self.www.write({"index.html": "burst"})
        body = push_body()
        answers = [self.hook(body, github_headers(body))[0] for _ in range(30)]
        self.assertEqual(answers, [202] * 30)
        self.serves("www.team-a.localhost", "burst")
        # One refresh at once, one at the end of the second: never thirty.
        wait_for(lambda: self.refreshes() - before == 2, 10, what="the trailing refresh")
        import time
        time.sleep(1.5)
        self.assertEqual(self.refreshes() - before, 2)

    def test_webhook_secret_must_name_a_secret(self):
        text = site_yaml("bad", "team-a", ["bad.team-a.localhost"], self.www.url)
        text = text.replace("interval: 1h}", "interval: 1h, webhookSecret: ../www-hooks}")
        r = self.wok.apply(text, token=self.alice, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("spec.source.git.webhookSecret", r.stderr)


if __name__ == "__main__":
    unittest.main()
