"""Issue 12: a site cannot write more than its declared storage size. The
attack, staged with a member's token against a real `wok up` (real runc, real
php-fpm): the site's PHP code writes 50 MiB into an 8Mi volume. Each volume
is its own ext4 image loop-mounted on the volume's directory, so the write
stops with ENOSPC inside the sandbox and the host's disk never gets the rest.
Needs root (loop devices, mounts); CI runs it as root. wokharness's tearDown
undoes every mount wok left under the test's directory."""
import json
import os
import shutil
import subprocess
import unittest

from wokharness import Wok, WokTestCase, project_yaml, wait_for

NEEDS = [b for b in ("runc", "php-fpm8.2", "mkfs.ext4", "resize2fs")
         if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)
MiB = 1 << 20

# fill: writes up to `mib` MiB to data/NAME and says how far it got and why it
# stopped; put: a small file; ls: the volume's files and their sizes.
INDEX_PHP = r"""<?php
header('Content-Type: application/json');
$dir = '/srv/site/data';
$op = $_GET['op'] ?? 'ls';
if ($op === 'fill') {
  $f = fopen("$dir/" . basename($_GET['name']), 'w');
  $chunk = str_repeat('x', 65536);
  $limit = intval($_GET['mib']) * 1048576;
  $n = 0;
  $error = '';
  while ($n < $limit) {
    $w = @fwrite($f, $chunk);
    if ($w === false || $w < strlen($chunk)) {
      $error = error_get_last()['message'] ?? 'short write';
      if ($w) $n += $w;
      break;
    }
    $n += $w;
  }
  fclose($f);
  echo json_encode(['bytes' => $n, 'error' => $error]);
} elseif ($op === 'put') {
  echo json_encode(['bytes' => file_put_contents("$dir/" . basename($_GET['name']), $_GET['text'])]);
} else {
  $out = [];
  foreach (scandir($dir) as $e) if ($e[0] !== '.') $out[$e] = filesize("$dir/$e");
  echo json_encode($out, JSON_FORCE_OBJECT);
}
"""


def site(url, size, version="1"):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: vol, namespace: team-a}}
spec:
  mode: php
  hosts: [vol.team-a.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  php: {{docroot: public, timeout: 60s}}
  storage: [{{name: data, path: data, size: {size}}}]
"""


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == path or p.startswith(path + "/")]


def disk_bytes(path):
    """Bytes the host's disk really holds for the files under `path` (sparse files count what is written)."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


@unittest.skipIf(SKIP, SKIP)
class StorageSizeTest(WokTestCase):
    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "30000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], members=[("alice", "developer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.repo_ = self.repo("vol", {"public/index.php": INDEX_PHP})

    def php(self, **query):
        q = "&".join(f"{k}={v}" for k, v in query.items())
        status, _, body = self.wok.get("vol.team-a.localhost", "/index.php?" + q)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def status(self):
        return self.wok.site_json("vol", "team-a").get("status", {})

    def volume_dir(self):
        uid = self.wok.site_json("vol", "team-a")["metadata"]["uid"]
        return os.path.join(self.wok.data, "sites", "team-a", "vol", uid, "storage")

    def wait_serving(self, revision):
        self.wok.wait_revision("vol", "team-a", revision, timeout=90)

        def answers():
            status, _, body = self.wok.get("vol.team-a.localhost", "/index.php?op=ls")
            return status == 200
        wait_for(answers, 60, interval=0.2, what="the php site to answer")

    def test_a_site_cannot_write_more_than_its_storage_size(self):
        self.wok.apply(site(self.repo_.url, "8Mi"), token=self.alice)
        self.wait_serving(1)
        storage = self.volume_dir()
        self.assertEqual(mounts_under(os.path.join(storage, "data")), [os.path.join(storage, "data")])
        self.assertEqual(os.path.getsize(os.path.join(storage, "data.img")), 8 * MiB)
        self.assertEqual(self.php(op="put", name="keep", text="precious"), {"bytes": 8})

        # The attack: 50 MiB into an 8Mi volume.
        fill = self.php(op="fill", name="fill", mib=50)
        self.assertIn("No space left on device", fill["error"])
        self.assertGreater(fill["bytes"], 4 * MiB)
        self.assertLessEqual(fill["bytes"], 8 * MiB)
        # The host's disk holds at most the image, not 50 MiB.
        self.assertLess(disk_bytes(self.wok.data), 30 * MiB)
        self.assertLessEqual(os.lstat(os.path.join(storage, "data.img")).st_blocks * 512, 8 * MiB)

        # A redeploy (a new commit) keeps the volume and its files.
        self.repo_.write({"public/v.txt": "2"}, "second")
        self.wok.cli("refresh", "site", "vol", "-n", "team-a", token=self.alice)
        self.wait_serving(2)
        files = self.php(op="ls")
        self.assertEqual(files.get("keep"), 8)
        self.assertEqual(files.get("fill"), fill["bytes"])

        # Growing the size lets more be written, the files stay.
        self.wok.apply(site(self.repo_.url, "16Mi"), token=self.alice)
        self.wait_serving(3)
        self.assertEqual(os.path.getsize(os.path.join(storage, "data.img")), 16 * MiB)
        more = self.php(op="fill", name="more", mib=50)
        self.assertIn("No space left on device", more["error"])
        self.assertGreater(more["bytes"], 6 * MiB)
        self.assertEqual(self.php(op="ls").get("keep"), 8)

        # Shrinking is refused with a clear error; revision 3 keeps serving.
        self.wok.apply(site(self.repo_.url, "8Mi"), token=self.alice)

        def refused():
            s = self.status()
            return s if "shrinking a volume is not supported" in (s.get("lastError") or "") else None
        s = wait_for(refused, 90, interval=0.3, what="the shrink to be refused")
        self.assertIn('storage "data"', s["lastError"])
        self.assertIn("revision 3 keeps serving", s["conditions"][0]["message"])
        self.assertEqual(self.php(op="ls").get("keep"), 8)

        # Deleting the site unmounts its volume before its files go.
        self.wok.cli("delete", "site", "vol", "-n", "team-a", token=self.alice)
        wait_for(lambda: not os.path.exists(storage), 60, interval=0.3, what="the site's files to go")
        self.assertEqual(mounts_under(self.wok.data), [])

    def test_after_a_restart_and_a_lost_mount_the_volume_is_mounted_again(self):
        self.wok.apply(site(self.repo_.url, "8Mi"), token=self.alice)
        self.wait_serving(1)
        storage = self.volume_dir()
        self.assertEqual(self.php(op="put", name="keep", text="precious"), {"bytes": 8})
        self.wok.stop()
        self.wok.close()
        # As after a reboot: wok's mount is gone (a sandbox may still hold the
        # file system; it is reused, never attached twice).
        for point in mounts_under(os.path.join(storage, "data")):
            subprocess.run(["umount", "-l", point], check=True)
        self.assertEqual(mounts_under(os.path.join(storage, "data")), [])

        self.wok = Wok(self.root, data=self.wok.data).start()
        wait_for(lambda: mounts_under(os.path.join(storage, "data")), 60, interval=0.2,
                 what="the volume to be mounted again")
        self.wait_serving(1)
        self.assertEqual(self.php(op="ls").get("keep"), 8)
        fill = self.php(op="fill", name="fill", mib=50)
        self.assertIn("No space left on device", fill["error"])
        self.assertLessEqual(fill["bytes"], 8 * MiB)


if __name__ == "__main__":
    unittest.main()
