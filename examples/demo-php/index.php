<?php
// The demo php site: every path without a file lands here (front controller).
$path = htmlspecialchars(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
?><!doctype html>
<title>wok php demo</title>
<h1>Hello from PHP <?= PHP_VERSION ?></h1>
<p>You asked for <code><?= $path ?></code>; php-fpm answered from its sandbox.</p>
