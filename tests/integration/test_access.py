"""spec.access on `wok up` (docs/access.md): IP allow and deny lists
checked by the router against the client's address before anything of the
site runs, changed with the spec, refused by field when a network does not
parse, and confined to the member's own site."""
import base64
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import WOK, Wok, WokTestCase, project_yaml, site_yaml, wait_for  # noqa: E402

FORBIDDEN = b"forbidden: this site does not accept requests from your address\n"


def with_access(yaml_text, access):
    return yaml_text + f"  access: {access}\n" if access else yaml_text


class AccessTest(WokTestCase):
    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]) + "---\n" +
                       project_yaml("team-b", ["*.team-b.localhost"], [("bob", "developer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.bob = self.wok.cli("token", "create", "bob").stdout.strip()
        self.repo_a = self.repo("intranet", {"index.html": "intranet home", "docs/a.html": "doc"})
        self.repo_b = self.repo("public", {"index.html": "public home"})

    def site(self, access=None):
        return with_access(site_yaml("intranet", "team-a", ["intranet.team-a.localhost"], self.repo_a.url), access)

    def status_of(self, host="intranet.team-a.localhost", path="/"):
        status, _, body = self.wok.get(host, path)
        return status, body

    def until(self, status, host="intranet.team-a.localhost"):
        return wait_for(lambda: (lambda r: r if r[0] == status else None)(self.status_of(host)), 30,
                        interval=0.1, what=f"{host} answering {status}")

    def test_lists_decide_by_the_clients_address_and_follow_the_spec(self):
        # The tests' client is 127.0.0.1.
        self.wok.apply(self.site('{ipDeny: ["127.0.0.0/8"]}'), token=self.alice)
        self.wok.wait_revision("intranet", "team-a", 1)
        status, body = self.until(403)
        self.assertEqual(body, FORBIDDEN)
        status, body = self.status_of(path="/docs/a.html")
        self.assertEqual((status, body), (403, FORBIDDEN))
        # Another project's site on the same router is not touched.
        self.wok.apply(site_yaml("public", "team-b", ["public.team-b.localhost"], self.repo_b.url), token=self.bob)
        self.wok.wait_revision("public", "team-b", 1)
        self.assertEqual(self.status_of("public.team-b.localhost"), (200, b"public home"))
        # The refusal is logged as any answer is.
        log = os.path.join(self.wok.data, "logs", "team-a", "intranet", "access.log")
        def logged_403():
            if not os.path.exists(log):
                return False
            with open(log) as f:
                return " 403 " in f.read()
        wait_for(logged_403, 10, what="a 403 in the access log")

        # An allow list without our network: still refused; with it: served.
        self.wok.apply(self.site('{ipAllow: ["10.0.0.0/8", "2001:db8::/32"]}'), token=self.alice)
        self.until(403)
        self.wok.apply(self.site('{ipAllow: ["10.0.0.0/8", "127.0.0.1/32"], ipDeny: ["127.0.0.2/32"]}'),
                       token=self.alice)
        self.assertEqual(self.until(200), (200, b"intranet home"))
        # Deny wins over allow.
        self.wok.apply(self.site('{ipAllow: ["127.0.0.0/8"], ipDeny: ["127.0.0.1/32"]}'), token=self.alice)
        self.until(403)
        # No lists: everyone.
        self.wok.apply(self.site(), token=self.alice)
        self.assertEqual(self.until(200), (200, b"intranet home"))

    def test_bad_networks_are_refused_by_field_and_change_nothing(self):
        self.wok.apply(self.site('{ipAllow: ["127.0.0.1/32"]}'), token=self.alice)
        self.wok.wait_revision("intranet", "team-a", 1)
        self.until(200)
        for access, field, why in (('{ipAllow: ["127.0.0.1/8"]}', "spec.access.ipAllow[0]", "bits set past"),
                                   ('{ipDeny: ["localhost"]}', "spec.access.ipDeny[0]", "is not an IP network"),
                                   ('{ipDeny: ["::/129"]}', "spec.access.ipDeny[0]", "prefix length"),
                                   ('{ipAllow: "127.0.0.1"}', "spec.access.ipAllow", "must be")):
            r = self.wok.apply(self.site(access), token=self.alice, check=False)
            self.assertNotEqual(r.returncode, 0, access)
            self.assertIn(field, r.stderr, access)
            self.assertIn(why, r.stderr, access)
        self.assertEqual(self.status_of(), (200, b"intranet home"))
        # Another project's member cannot put lists on this site.
        r = self.wok.apply(self.site('{ipDeny: ["0.0.0.0/0"]}'), token=self.bob, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(self.status_of(), (200, b"intranet home"))


class TrustedProxyTest(WokTestCase):
    """wok up --trusted-proxy: behind it, the forwarded address is judged."""

    def test_only_a_trusted_proxys_forwarded_address_counts(self):
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))
        repo = self.repo("intranet", {"index.html": "intranet home"})
        self.wok.apply(site_yaml("intranet", "team-a", ["intranet.team-a.localhost"], repo.url) +
                       '  access: {ipAllow: ["203.0.113.0/24"]}\n')
        self.wok.wait_revision("intranet", "team-a", 1)
        forwarded = {"X-Forwarded-For": "203.0.113.5"}
        host = "intranet.team-a.localhost"
        # Not trusted: the header is the client's claim, the peer (127.0.0.1) is judged.
        self.assertEqual(self.wok.get(host, headers=forwarded)[0], 403)
        self.wok.stop()
        proxied = Wok(self.root, data=self.wok.data, args=["--trusted-proxy", "127.0.0.1/32"]).start()
        try:
            wait_for(lambda: proxied.get(host, headers=forwarded)[0] == 200, 30,
                     what="the forwarded client let in")
            self.assertEqual(proxied.get(host, headers=forwarded)[2], b"intranet home")
            self.assertEqual(proxied.get(host)[0], 403)  # the proxy itself is not in the list
            self.assertEqual(proxied.get(host, headers={"X-Forwarded-For": "203.0.113.5, 198.51.100.7"})[0], 403)
        finally:
            proxied.stop()
            proxied.close()

    def test_a_bad_flag_is_refused_naming_it(self):
        r = subprocess.run([WOK, "up", "--data", os.path.join(self.root, "x"), "--trusted-proxy", "10.0.0.1/8"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--trusted-proxy", r.stderr)
        self.assertIn("bits set past", r.stderr)


class BasicAuthTest(WokTestCase):
    """spec.access.basicAuth: users from the project's secret (htpasswd -B
    lines in key auth), asked for before anything of the site runs;
    exempt paths open; a secret that cannot be used closes the site."""

    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.repo_a = self.repo("intranet", {"index.html": "intranet home", "healthz/index.html": "ok"})

    def htpasswd(self, name, user, password):
        line = subprocess.run(["htpasswd", "-nbB", user, password], capture_output=True, text=True,
                              check=True).stdout.strip()
        path = os.path.join(self.root, name)
        with open(path, "w") as f:
            f.write(line + "\n")
        return path

    def site(self, access):
        return with_access(site_yaml("intranet", "team-a", ["intranet.team-a.localhost"], self.repo_a.url), access)

    def get(self, path="/", user=None, password=None):
        headers = {}
        if user is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        status, headers, body = self.wok.get("intranet.team-a.localhost", path, headers)
        return status, headers, body

    def test_a_login_before_the_site_with_exempt_paths(self):
        self.wok.cli("secret", "set", "intranet-users", "--from-file",
                     f"auth={self.htpasswd('users', 'carol', 'correct horse')}", "-n", "team-a", token=self.alice)
        self.wok.apply(self.site('{basicAuth: {secretName: intranet-users, realm: "Team A"}, exempt: ["/healthz"]}'),
                       token=self.alice)
        self.wok.wait_revision("intranet", "team-a", 1)
        status, headers, body = wait_for(lambda: (lambda r: r if r[0] == 401 else None)(self.get()), 30,
                                         interval=0.1, what="a login asked")
        self.assertEqual(headers["www-authenticate"], 'Basic realm="Team A", charset="UTF-8"')
        self.assertNotIn(b"intranet home", body)
        self.assertEqual(self.get(user="carol", password="wrong")[0], 401)
        self.assertEqual(self.get(user="mallory", password="correct horse")[0], 401)
        status, _, body = self.get(user="carol", password="correct horse")
        self.assertEqual((status, body), (200, b"intranet home"))
        self.assertEqual(self.get("/healthz/")[:3:2], (200, b"ok"))
        # The password changes in the secret: the old one stops working.
        self.wok.cli("secret", "set", "intranet-users", "--from-file",
                     f"auth={self.htpasswd('users2', 'carol', 'battery staple')}", "-n", "team-a", token=self.alice)
        self.wok.cli("refresh", "site", "intranet", "-n", "team-a", token=self.alice)
        wait_for(lambda: self.get(user="carol", password="battery staple")[0] == 200, 30, interval=0.2,
                 what="the new password")
        self.assertEqual(self.get(user="carol", password="correct horse")[0], 401)

    def test_a_weak_or_missing_secret_closes_the_site(self):
        md5 = subprocess.run(["htpasswd", "-nbm", "carol", "pw"], capture_output=True, text=True,
                             check=True).stdout.strip()
        path = os.path.join(self.root, "weak")
        with open(path, "w") as f:
            f.write(md5 + "\n")
        self.wok.cli("secret", "set", "weak", "--from-file", f"auth={path}", "-n", "team-a", token=self.alice)
        self.wok.apply(self.site("{basicAuth: {secretName: weak}}"), token=self.alice)
        self.wok.wait_revision("intranet", "team-a", 1)
        wait_for(lambda: self.get(user="carol", password="pw")[0] == 401, 30, interval=0.1, what="closed")

        def access_condition():
            for c in self.wok.site_json("intranet", "team-a")["status"].get("conditions", []):
                if c["type"] == "AccessReady":
                    return c
            return None
        c = wait_for(access_condition, 30, what="AccessReady")
        self.assertEqual(c["status"], "False")
        self.assertIn("not a bcrypt or argon2 hash", c["message"])
        self.wok.apply(self.site("{basicAuth: {secretName: nowhere}}"), token=self.alice)
        wait_for(lambda: "nowhere" in (access_condition() or {}).get("message", ""), 30, what="the missing secret")
        self.assertEqual(self.get(user="carol", password="pw")[0], 401)
        # Validation by field.
        r = self.wok.apply(self.site('{exempt: ["relative"]}'), token=self.alice, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("spec.access.exempt", r.stderr)


if __name__ == "__main__":
    unittest.main()
