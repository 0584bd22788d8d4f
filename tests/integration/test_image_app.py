"""An app site from an image needs no git source (issue 13): a real `wok up`,
an OCI image built here with umoci (busybox httpd), no spec.source at all.
It deploys, answers through the router, a change of its env makes revision
2, and `wok rollout undo` goes back. Needs root (runc, cgroups)."""
import os
import shutil
import subprocess
import unittest

from wokharness import WokTestCase, project_yaml, wait_for

NEEDS = [b for b in ("runc", "umoci") if not shutil.which(b)] + \
    ([] if os.path.exists("/bin/busybox") else ["busybox-static"])
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

# The image's own command: the page says $GREETING, which the site's env sets.
SERVE = ("/bin/busybox sleep ${DELAY:-0} && "
         "/bin/busybox mkdir -p /tmp/www && echo \"greeting=$GREETING\" > /tmp/www/index.html && "
         "exec /bin/busybox httpd -f -p $PORT -h /tmp/www")


def build_image(directory):
    """busybox-static in an OCI layout; returns its oci: reference."""
    layout, bundle = os.path.join(directory, "layout"), os.path.join(directory, "unpacked")
    image = layout + ":1.0"

    def umoci(*args):
        subprocess.run(["umoci", *args], check=True, capture_output=True, timeout=120)
    umoci("init", "--layout", layout)
    umoci("new", "--image", image)
    umoci("unpack", "--image", image, bundle)
    rootfs = os.path.join(bundle, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"))
    shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    os.symlink("busybox", os.path.join(rootfs, "bin", "sh"))
    umoci("repack", "--image", image, bundle)
    umoci("config", "--image", image, "--config.entrypoint", "/bin/sh", "--config.cmd", "-c",
          "--config.cmd", SERVE)
    shutil.rmtree(bundle)
    return "oci:" + image


def image_site(name, project, image, greeting, delay=0):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: {project}}}
spec:
  mode: app
  hosts: [{name}.{project}.localhost]
  app:
    components:
      - {{name: web, image: "{image}", port: 8080, health: {{path: /index.html}}, env: {{GREETING: {greeting}, DELAY: "{delay}"}}}}
  resources: {{memory: 64Mi}}
"""


@unittest.skipIf(SKIP, SKIP)
class ImageAppTest(WokTestCase):
    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "15000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))
        self.image = build_image(os.path.join(self.root, "image"))

    def body(self, host, path="/index.html"):
        status, _, body = self.wok.get(host, path)
        return status, body.decode(errors="replace")

    def wait_body(self, host, text, timeout=60):
        return wait_for(lambda: (lambda r: r if r[0] == 200 and text in r[1] else None)(self.body(host)), timeout,
                        interval=0.2, what=f"{text!r} at {host}")

    def test_an_app_of_images_deploys_without_a_source_and_rolls_back(self):
        host = "hello.team-a.localhost"
        self.wok.apply(image_site("hello", "team-a", self.image, "one"))
        status = self.wok.wait_revision("hello", "team-a", 1)
        self.assertNotIn("source", self.wok.site_json("hello", "team-a")["spec"])
        self.assertEqual(self.wait_body(host, "greeting=one")[1].strip(), "greeting=one")
        # Nothing was fetched: no mirror, and the revision's directory is empty.
        uid = self.wok.site_json("hello", "team-a")["metadata"]["uid"]
        site_dir = os.path.join(self.wok.data, "sites", "team-a", "hello", uid)
        self.assertFalse(os.path.exists(os.path.join(site_dir, "mirror.git")))
        self.assertEqual(os.listdir(os.path.join(site_dir, "revisions", "1")), [])
        self.assertIn("Deployed", str(status.get("conditions")))

        # The same spec again is no new revision.
        self.wok.apply(image_site("hello", "team-a", self.image, "one"))
        self.wok.cli("refresh", "site", "hello", "-n", "team-a")
        self.assertEqual(self.wok.wait_revision("hello", "team-a", 1)["revision"], 1)

        # A change of its env is revision 2...
        self.wok.apply(image_site("hello", "team-a", self.image, "two"))
        self.wok.wait_revision("hello", "team-a", 2)
        self.wait_body(host, "greeting=two")
        # ...and `wok rollout undo` goes back to revision 1's spec as revision 3.
        self.wok.cli("rollout", "undo", "site", "hello", "-n", "team-a")
        self.wok.wait_revision("hello", "team-a", 3)
        self.wait_body(host, "greeting=one")
        history = self.wok.cli("rollout", "history", "site", "hello", "-n", "team-a").stdout
        for n in ("1", "2", "3"):
            self.assertRegex(history, rf"(?m)^\s*{n}\s", history)
        self.assertNotRegex(history, r"(?m)^\s*4\s", history)  # the unchanged apply made none
        spec = self.wok.site_json("hello", "team-a")["spec"]
        self.assertEqual(spec["app"]["components"][0]["env"], {"GREETING": "one", "DELAY": "0"})
        self.assertNotIn("source", spec)

    def test_apply_wait_shows_the_image_being_pulled_and_started(self):
        # Slow to answer (3 s): `apply --wait` shows what the rollout waits for.
        r = self.wok.cli("apply", "--wait", "-f", "-", stdin=image_site("slow", "team-a", self.image, "s", delay=3))
        self.assertIn("starting revision 1: pulling and unpacking " + self.image, r.stdout + r.stderr)
        self.assertIn("waiting for its instances to be ready", r.stdout + r.stderr)
        self.assertEqual(self.body("slow.team-a.localhost")[1].strip(), "greeting=s")

    def test_a_component_run_from_the_repository_still_needs_a_source(self):
        text = image_site("cmd", "team-a", self.image, "x").replace(
            f'image: "{self.image}"', "command: [/bin/sh, run.sh]")
        r = self.wok.apply(text, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("spec.source: is required: component web runs a command from the repository", r.stderr)


if __name__ == "__main__":
    unittest.main()
