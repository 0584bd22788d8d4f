"""A real CMS end to end (issue 16): Debian's WordPress as the source of a php
site with a managed MariaDB and its uploads on a storage volume. Its
installer is completed over HTTP, a post is written and a media file uploaded
(XML-RPC, as a desktop client does), a backup taken; the upload is deleted and
the database dropped; the restore brings both back; a clone serves the same
post under its own host while the original is unchanged.

`make test` unpacks the packages first (scripts/fetch-wordpress.sh into
build/wordpress, WOK_WORDPRESS_DIR). WOK_WORDPRESS_MEASURE=1 adds 100 MB of
uploads and 50 MB of database rows before the backup and prints the times
(docs/data.md). Needs root (runc, loop-mounted volumes); CI runs it as root."""
import http.client
import os
import shutil
import struct
import sys
import time
import unittest
import urllib.parse
import xmlrpc.client
import zlib

from test_database import DatabaseCase
from wokharness import GitRepo, wait_for

WORDPRESS = os.path.join(os.environ.get("WOK_WORDPRESS_DIR", ""), "usr/share/wordpress")
NEEDS = [b for b in ("runc", "restic", "mariadb", "php-fpm8.2") if not shutil.which(b) and
         not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

# Debian's wp-config.php reads /etc/wordpress; a hosted site's reads what the
# platform gives it. Its home is the host it is asked for: a clone answers
# under its own.
WP_CONFIG = r"""<?php
define('DB_NAME', getenv('DB_NAME'));
define('DB_USER', getenv('DB_USER'));
define('DB_PASSWORD', getenv('DB_PASSWORD'));
define('DB_HOST', getenv('DB_HOST') . ':' . getenv('DB_PORT'));
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT',
          'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $k)
  define($k, hash('sha256', $k . getenv('DB_PASSWORD')));
$table_prefix = 'wp_';
define('WP_HOME', 'http://' . $_SERVER['HTTP_HOST']);
define('WP_SITEURL', 'http://' . $_SERVER['HTTP_HOST']);
define('FS_METHOD', 'direct');
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
"""

PASSWORD = "correct-horse-battery-staple"


def site_yaml(name, url):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: team-a}}
spec:
  mode: php
  hosts: [{name}.team-a.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  php: {{frontController: index.php, ini: {{memory_limit: 128M, upload_max_filesize: 8M, post_max_size: 16M}}}}
  resources: {{memory: 256Mi}}
  database: {{engine: mariadb, size: 512Mi}}
  storage: [{{name: uploads, path: wp-content/uploads, size: 256Mi}}]
"""


def png(width=48, height=48):
    """A real PNG (WordPress checks that an image is one)."""
    raw = b"".join(b"\x00" + b"".join(bytes((x * 5 % 256, y * 5 % 256, 128)) for x in range(width))
                   for y in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@unittest.skipIf(SKIP, SKIP)
class WordPressTest(DatabaseCase):
    def post(self, host, path, body, content_type):
        conn = http.client.HTTPConnection("127.0.0.1", self.wok.port, timeout=60)
        conn.request("POST", path, body=body, headers={"Host": host, "Content-Type": content_type})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, data

    def rpc(self, host, method, *params):
        status, data = self.post(host, "/xmlrpc.php", xmlrpc.client.dumps(params, method),
                                 "text/xml")
        self.assertEqual(status, 200, data[:2000])
        return xmlrpc.client.loads(data)[0][0]

    def page(self, host, path):
        status, _, body = self.wok.get(host, path)
        return status, body.decode(errors="replace")

    def wordpress_repo(self):
        self.assertTrue(os.path.exists(os.path.join(WORDPRESS, "wp-settings.php")),
                        f"Debian's WordPress is not unpacked in {WORDPRESS}: run "
                        "scripts/fetch-wordpress.sh build/wordpress (make test does)")
        path = os.path.join(self.root, "repos", "wordpress")
        # Its symlinks into other Debian packages (getid3, underscore.js)
        # become files; those into /etc (its own config) are left out.
        shutil.copytree(WORDPRESS, path, symlinks=False, ignore_dangling_symlinks=True)
        os.unlink(os.path.join(path, "wp-config.php"))
        with open(os.path.join(path, "wp-config.php"), "w") as f:
            f.write(WP_CONFIG)
        os.makedirs(os.path.join(path, "wp-content/uploads"), exist_ok=True)
        with open(os.path.join(path, "wp-content/uploads/.keep"), "w") as f:
            f.write("")
        repo = GitRepo.__new__(GitRepo)
        repo.path = path
        repo.git("init", "-q", "-b", "main")
        repo.git("add", "-A")
        with open(os.path.join(WORDPRESS, "wp-includes/version.php")) as f:
            version = f.read().split("$wp_version = '")[1].split("'")[0]
        repo.git("commit", "-q", "-m", "WordPress " + version)
        return repo

    def install(self, host):
        form = urllib.parse.urlencode({
            "weblog_title": "wok blog", "user_name": "admin", "admin_password": PASSWORD,
            "admin_password2": PASSWORD, "pw_weak": "1", "admin_email": "admin@example.org",
            "blog_public": "0", "Submit": "Install WordPress", "language": ""})
        status, body = self.post(host, "/wp-admin/install.php?step=2", form,
                                 "application/x-www-form-urlencoded")
        self.assertEqual(status, 200, body[:3000])
        self.assertIn(b"Success!", body, body[:3000])

    def measure(self, host, site_uid):
        """WOK_WORDPRESS_MEASURE: 100 MB of uploads and 50 MB of rows, then timings."""
        uploads = os.path.join(self.wok.data, "sites/team-a/wp", site_uid, "storage/uploads/bulk")
        os.makedirs(uploads)
        for i in range(100):
            with open(os.path.join(uploads, f"file{i}.bin"), "wb") as f:
                f.write(os.urandom(1 << 20))
        shutil.chown(uploads, *(os.stat(os.path.dirname(uploads)).st_uid,) * 2)
        row = "x" * 1000
        for part in range(4):  # the API takes 16 MiB at a time
            values = ",".join(f"(1, 'bulk{part}_{i}', '{row}')" for i in range(12500))
            self.wok.cli("db", "import", "site", "wp", "-n", "team-a",
                         stdin=f"INSERT INTO wp_postmeta (post_id, meta_key, meta_value) VALUES {values};")
        dump = self.wok.cli("db", "dump", "site", "wp", "-n", "team-a").stdout
        print(f"\nWordPress measured: uploads 100 MiB, database dump {len(dump) / 1048576:.0f} MiB",
              file=sys.stderr)

    def test_wordpress_backup_restore_clone(self):
        host = "wp.team-a.localhost"
        repo = self.wordpress_repo()
        self.wok.apply(site_yaml("wp", repo.url), token=self.alice)
        self.wok.wait_revision("wp", "team-a", 1, timeout=180)
        # Before its installer: WordPress sends everyone there.
        status, _, _ = self.wok.get(host, "/")
        self.assertEqual(status, 302)
        self.install(host)

        post_id = self.rpc(host, "wp.newPost", 0, "admin", PASSWORD, {
            "post_title": "Hello from wok", "post_content": "Kept in MariaDB, backed up by restic.",
            "post_status": "publish"})
        image = png()
        media = self.rpc(host, "wp.uploadFile", 0, "admin", PASSWORD, {
            "name": "wok.png", "type": "image/png", "bits": xmlrpc.client.Binary(image)})
        upload = urllib.parse.urlparse(media["url"]).path
        self.assertTrue(upload.startswith("/wp-content/uploads/"), media)
        status, page = self.page(host, f"/?p={post_id}")
        self.assertEqual(status, 200)
        self.assertIn("Hello from wok", page)
        status, _, body = self.wok.get(host, upload)
        self.assertEqual((status, body), (200, image))

        if os.environ.get("WOK_WORDPRESS_MEASURE"):
            self.measure(host, self.wok.site_json("wp", "team-a")["metadata"]["uid"])
        started = time.monotonic()
        out = self.wok.cli("backup", "create", "site", "wp", "-n", "team-a", token=self.alice).stdout
        backup_s = time.monotonic() - started
        backup = out.split()[1]

        # The upload deleted (through WordPress), then every table dropped.
        self.assertTrue(self.rpc(host, "wp.deletePost", 0, "admin", PASSWORD, int(media["id"])))
        self.assertEqual(self.wok.get(host, upload)[0], 404)
        tables = self.wok.cli("db", "shell", "site", "wp", "-n", "team-a", stdin="SHOW TABLES;").stdout
        names = [w for w in tables.split() if w.startswith("wp_")]
        self.assertIn("wp_posts", names)
        self.wok.cli("db", "import", "site", "wp", "-n", "team-a",
                     stdin="DROP TABLE " + ", ".join(names) + ";")
        status, _, _ = self.wok.get(host, f"/?p={post_id}")
        self.assertEqual(status, 302)  # to the installer again: nothing is left

        started = time.monotonic()
        self.wok.cli("backup", "restore", "site", "wp", "--backup", backup, "-n", "team-a",
                     token=self.alice)
        restore_s = time.monotonic() - started
        status, page = self.page(host, f"/?p={post_id}")
        self.assertEqual(status, 200)
        self.assertIn("Hello from wok", page)
        status, _, body = self.wok.get(host, upload)
        self.assertEqual((status, body), (200, image))
        if os.environ.get("WOK_WORDPRESS_MEASURE"):  # the bulk came back too
            status, _, body = self.wok.get(host, "/wp-content/uploads/bulk/file99.bin")
            self.assertEqual((status, len(body)), (200, 1 << 20))
        print(f"\nWordPress: backup {backup_s:.1f} s, restore in place {restore_s:.1f} s",
              file=sys.stderr)

        # A copy to try an upgrade on: the same post under its own host.
        started = time.monotonic()
        self.wok.cli("backup", "restore", "site", "wp", "--to", "wp-copy", "--host",
                     "wp-copy.team-a.localhost", "-n", "team-a", token=self.alice)
        self.wok.wait_revision("wp-copy", "team-a", 1, timeout=180)
        print(f"WordPress: clone ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
        copy = "wp-copy.team-a.localhost"
        status, page = self.page(copy, f"/?p={post_id}")
        self.assertEqual(status, 200)
        self.assertIn("Hello from wok", page)
        self.assertIn("http://wp-copy.team-a.localhost/", page)  # its own links
        self.assertEqual(self.wok.get(copy, upload)[2], image)
        only = self.rpc(copy, "wp.newPost", 0, "admin", PASSWORD, {
            "post_title": "Only in the copy", "post_content": "trying an upgrade",
            "post_status": "publish"})
        self.assertIn("Only in the copy", self.page(copy, f"/?p={only}")[1])
        self.assertNotIn("Only in the copy", self.page(host, f"/?p={only}")[1])
        self.assertIn("Hello from wok", self.page(host, f"/?p={post_id}")[1])


if __name__ == "__main__":
    unittest.main()
