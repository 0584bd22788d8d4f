"""spec.php.timeout on the embedded platform: real `wok up`, real runc, real
php-fpm. A runaway script (it sleeps far longer than the site's limit) gets a
504 that names the limit, the router's log says which site and why, php-fpm
kills the worker, and a burst of runaways (more than php-fpm's pool of 5
workers) does not take the site down. Needs root (runc, cgroups)."""
import http.client
import os
import shutil
import threading
import unittest

from wokharness import WokTestCase, project_yaml, wait_for

NEEDS = [b for b in ("runc", "php-fpm8.2") if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

HOST = "blog.team-a.localhost"
# Far longer than the limit and than the test: without php-fpm's
# request_terminate_timeout the pool's workers would stay taken.
SLOW_PHP = "<?php sleep(600); echo 'finished';"


def php_site(url, timeout):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: blog, namespace: team-a}}
spec:
  mode: php
  hosts: [{HOST}]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  php: {{docroot: public, timeout: {timeout}}}
"""


@unittest.skipIf(SKIP, SKIP)
class PhpTimeoutTest(WokTestCase):
    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "15000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))

    def fetch(self, path, results=None):
        # The client's own bound: more than the router's old fixed 60 s would
        # allow for, so a missing limit fails here instead of hanging.
        conn = http.client.HTTPConnection("127.0.0.1", self.wok.port, timeout=45)
        try:
            conn.request("GET", path, headers={"Host": HOST})
            r = conn.getresponse()
            answer = (r.status, r.read().decode(errors="replace"))
        except Exception as e:  # a dropped or silent connection counts too
            answer = (None, repr(e))
        finally:
            conn.close()
        if results is not None:
            results.append(answer)
        return answer

    def runaway_burst(self, count):
        results = []
        threads = [threading.Thread(target=self.fetch, args=("/slow.php", results)) for _ in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def wait_answers(self):
        return wait_for(lambda: (r := self.fetch("/")) and r[0] == 200 and r, 60, interval=0.2,
                        what="the site answering / again")

    def test_runaway_requests_get_504_and_the_site_keeps_answering(self):
        repo = self.repo("blog", {"public/index.php": "<?php echo 'hello ' . PHP_VERSION;",
                                  "public/slow.php": SLOW_PHP})
        self.wok.apply(php_site(repo.url, "2s"))
        self.wok.wait_revision("blog", "team-a", 1)
        self.assertIn("hello 8.", self.wait_answers()[1])

        status, body = self.fetch("/slow.php")
        self.assertEqual(status, 504, body)
        self.assertIn("time limit of 2s (spec.php.timeout)", body)
        wait_for(lambda: "site team-a/blog: 504: GET /slow.php: php-fpm did not answer within the site's "
                         "time limit of 2s (spec.php.timeout)" in self.wok.logs(), 10,
                 what="the router's log line naming the site and the limit")

        # Twice the pool (pm.max_children 5), twice: every runaway is answered
        # 504, php-fpm frees its workers, and the site answers again.
        for _ in range(2):
            results = self.runaway_burst(10)
            self.assertEqual([s for s, _ in results], [504] * 10, results)
            self.assertIn("hello 8.", self.wait_answers()[1])

        # php-fpm's own limit freed the workers (request_terminate_timeout).
        logs = wait_for(lambda: "execution timed out" in (out := self.wok.cli("logs", "site", "blog", "-n", "team-a",
                                                                               "--tail", "10000").stdout) and out,
                        30, interval=0.5, what="php-fpm terminating the runaway in wok logs")
        self.assertIn("/slow.php", logs)

    def test_timeout_is_validated(self):
        repo = self.repo("bad", {"public/index.php": "<?php echo 'x';"})
        for value, why in (("forever", "is not a duration"), ("2h", "between 1s and 1h"),
                           ("1500ms", "whole seconds")):
            r = self.wok.apply(php_site(repo.url, value), check=False)
            self.assertNotEqual(r.returncode, 0, value)
            self.assertIn("spec.php.timeout", r.stderr + r.stdout)
            self.assertIn(why, r.stderr + r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
