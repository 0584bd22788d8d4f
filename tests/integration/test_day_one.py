"""Issue 13, day one as a user: what a site's hosts answer while its first
revision is on its way, and after it failed. Real `wok up`, real git, the
build in its real sandbox (needs root and runc; CI runs it as root)."""
import os
import shutil
import unittest

from wokharness import WokTestCase, project_yaml, site_yaml, wait_for

NEEDS = [b for b in ("runc",) if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)


@unittest.skipIf(SKIP, SKIP)
class DayOneTest(WokTestCase):
    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))

    def test_hosts_say_being_deployed_until_the_first_revision_serves(self):
        repo = self.repo("www", {"README": "x"})
        build = '{command: [sh, -c, "sleep 4; mkdir -p o; echo hello > o/index.html"], output: o}'
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url, build=build))

        def deploying():
            status, headers, body = self.wok.get("www.team-a.localhost")
            return (status, headers, body) if status == 503 else None
        status, headers, body = wait_for(deploying, 30, interval=0.1, what="503 while building")
        self.assertIn(b"being deployed", body)
        self.assertIn("retry-after", headers)
        self.wok.wait_revision("www", "team-a", 1, timeout=60)
        self.assertEqual(self.wok.get("www.team-a.localhost")[:1], (200,))
        self.assertEqual(self.wok.get("www.team-a.localhost")[2].strip(), b"hello")

    def test_hosts_of_a_site_whose_first_build_failed_serve_nothing(self):
        repo = self.repo("bad", {"README": "x"})
        self.wok.apply(site_yaml("bad", "team-a", ["bad.team-a.localhost"], repo.url,
                                 build='{command: [sh, -c, "sleep 1; exit 3"]}'))

        def failed():
            s = self.wok.site_json("bad", "team-a").get("status", {})
            return s if "exited with status 3" in (s.get("lastError") or "") else None
        wait_for(failed, 60, interval=0.3, what="the first build to fail")
        status, _, body = self.wok.get("bad.team-a.localhost")
        self.assertEqual(status, 404)
        self.assertNotIn(b"being deployed", body)


if __name__ == "__main__":
    unittest.main(verbosity=2)
