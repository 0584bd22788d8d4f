// The web console in a real browser (Debian's chromium, driven by
// playwright-core) against a real `wok up` that tests/integration/
// test_console.py started and filled. Exits 1 at the first failed check.
// Env: WOK_API, WOK_ROUTER_PORT, TOKEN_DEV (developer of team-a),
// TOKEN_VIEWER (viewer of team-a), CHROMIUM, ARTIFACTS (screenshots).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const env = (k) => { if (!process.env[k]) throw new Error(k + ' is not set'); return process.env[k]; };
const API = env('WOK_API');
const ARTIFACTS = env('ARTIFACTS');
const browser = await chromium.launch({ executablePath: env('CHROMIUM'), args: ['--no-sandbox'] });
const problems = [];

async function page() {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const p = await context.newPage();
  // The console must not log errors, nor fail a request (a 404 of a missing file).
  // (An API answer the page shows, a refused token or project, is logged by
  // chromium as a failed load: that one is expected.)
  p.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (m.text().startsWith('Failed to load resource') && m.location().url.includes('/apis/')) return;
    problems.push(m.text());
  });
  p.on('pageerror', (e) => problems.push(String(e)));
  p.on('response', (r) => { if (r.status() >= 400 && !r.url().includes('/apis/')) problems.push(r.url() + ' ' + r.status()); });
  p.on('dialog', (d) => d.accept());
  return p;
}
async function signIn(p, token) {
  await p.goto(API + '/console/');
  await p.getByLabel('API token').fill(token);
  await p.getByRole('button', { name: 'Sign in' }).click();
}
function served(host) {  // the router's answer for host, as text
  return new Promise((ok, fail) => {
    http.get({ host: '127.0.0.1', port: Number(env('WOK_ROUTER_PORT')), path: '/', headers: { Host: host } }, (r) => {
      let body = '';
      r.on('data', (c) => { body += c; });
      r.on('end', () => ok(body));
    }).on('error', fail);
  });
}
async function apiCall(method, path, body) {
  const r = await fetch(API + '/apis/wok.dev/v1alpha1' + path, {
    method, headers: { Authorization: 'Bearer ' + env('TOKEN_DEV'), 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body) });
  assert.ok(r.ok, method + ' ' + path + ': ' + r.status);
  return r.json();
}
const step = (name) => console.log('--', name);

// axe-core's WCAG 2 A and AA rules on the page as it is: serious and
// critical violations fail (labels, contrast, names of links and buttons...).
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
async function accessible(p, what) {
  await p.addScriptTag({ content: axeSource });
  const result = await p.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.id + ': ' + v.help + ' at ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '));
  assert.deepEqual(bad, [], what + ' has accessibility violations');
}

try {
  step('a bad token is refused');
  const p = await page();
  await signIn(p, 'not-a-real-token');
  await p.getByRole('alert').filter({ hasText: 'This token was refused' }).waitFor();
  await p.screenshot({ path: ARTIFACTS + '/sign-in-refused.png' });

  step('a developer signs in and sees only the projects they may see');
  await signIn(p, env('TOKEN_DEV'));
  await p.getByRole('link', { name: 'team-a' }).waitFor();
  assert.equal(await p.getByRole('link', { name: 'team-b' }).count(), 0);
  await p.screenshot({ path: ARTIFACTS + '/projects.png' });

  step('the topology shows the instance counts');
  await p.getByRole('link', { name: 'team-a' }).click();
  const web = p.locator('[data-node="c:api:web"]');
  await web.getByText('1/1 ready').waitFor();
  await p.locator('[data-node="site:www"]').waitFor();
  await p.locator('[data-node="j:api:tick"]').waitFor();
  await p.locator('[data-node="v:api:data"]').waitFor();
  // The quota's bars: what admission counts (2 sites, one 128Mi instance, a 64Mi volume).
  await p.locator('#quota').getByText('2 of 5').waitFor();
  await p.locator('#quota').getByText('128Mi of 2Gi').waitFor();
  await p.locator('#quota').getByText('64Mi of 1Gi').waitFor();
  await p.screenshot({ path: ARTIFACTS + '/topology.png', fullPage: true });

  step('scaling a component: the graph follows without a reload');
  await p.evaluate(() => { window.notReloaded = true; });
  const site = await apiCall('GET', '/namespaces/team-a/sites/api');
  site.spec.app.components[0].replicas = 2;
  delete site.status;
  await apiCall('PUT', '/namespaces/team-a/sites/api', site);
  await web.getByText('2/2 ready').waitFor({ timeout: 90000 });
  await p.locator('#quota').getByText('256Mi of 2Gi').waitFor();
  assert.equal(await p.evaluate(() => window.notReloaded), true);
  await p.screenshot({ path: ARTIFACTS + '/topology-scaled.png', fullPage: true });

  step('another project is not shown');
  await p.goto(API + '/console/#/p/team-b');
  await p.getByText('may not read project "team-b"').waitFor();

  step('a log line appears as the app writes it (a followed stream, not polls)');
  const logRequests = [];
  const onRequest = (r) => { if (r.url().includes('/logs?')) logRequests.push(r.url()); };
  p.on('request', onRequest);
  await p.goto(API + '/console/#/p/team-a/s/api');
  await p.locator('#events').waitFor();
  const marker = 'marker-' + Date.now();
  await new Promise((ok, fail) => http.get({ host: '127.0.0.1', port: Number(env('WOK_ROUTER_PORT')),
    path: '/' + marker, headers: { Host: 'api.team-a.localhost' } }, (r) => { r.resume(); r.on('end', ok); }).on('error', fail));
  await p.locator('#logs').getByText(marker).first().waitFor({ timeout: 20000 });
  p.off('request', onRequest);
  assert.equal(logRequests.length, 1, logRequests.join(' '));
  assert.match(logRequests[0], /follow=true/);
  await p.screenshot({ path: ARTIFACTS + '/site.png', fullPage: true });

  step('rolling back a site changes what it serves');
  assert.match(await served('www.team-a.localhost'), /version two/);
  await p.goto(API + '/console/#/p/team-a/s/www');
  const rollback = p.getByRole('button', { name: 'Roll back to revision 1' });
  await rollback.click();
  for (let i = 0; !/version one/.test(await served('www.team-a.localhost')); i++) {
    assert.ok(i < 150, 'www still serves version two');
    await new Promise((ok) => setTimeout(ok, 200));
  }
  // The page follows: the new revision (3) is live, with its cause.
  await p.locator('tr[data-revision="3"]').getByText('rollout undo to 1').waitFor();
  // Who: alice, who clicked (the first revision was the platform admin's apply).
  assert.equal(await p.locator('tr[data-revision="3"] td.author').innerText(), 'alice');
  assert.equal(await p.locator('tr[data-revision="1"] td.author').innerText(), 'admin');
  await p.locator('#diff').waitFor();
  await p.screenshot({ path: ARTIFACTS + '/rolled-back.png', fullPage: true });

  step('a viewer sees no button that would change anything');
  const v = await page();
  await signIn(v, env('TOKEN_VIEWER'));
  await v.getByRole('link', { name: 'team-a' }).click();
  await v.locator('[data-node="site:www"]').waitFor();
  assert.equal(await v.getByRole('link', { name: 'Create a site' }).count(), 0);
  await v.goto(API + '/console/#/p/team-a/s/www');
  await v.locator('tr[data-revision="1"]').waitFor();
  assert.equal(await v.getByRole('button', { name: /Roll back/ }).count(), 0);
  await v.screenshot({ path: ARTIFACTS + '/viewer.png', fullPage: true });

  step('the create form shows the YAML it applies');
  await p.goto(API + '/console/#/p/team-a/new');
  await p.getByLabel('Name', { exact: true }).fill('docs');
  await p.getByLabel('Host name').fill('docs.team-a.localhost');
  await p.getByLabel('Git repository URL').fill(env('DOCS_REPO'));
  await p.getByRole('button', { name: 'Create' }).click();
  await p.getByText('Created.').waitFor();
  assert.match(await p.locator('#made-yaml').innerText(), /mode: "static"/);
  await p.screenshot({ path: ARTIFACTS + '/create.png', fullPage: true });
  await apiCall('GET', '/namespaces/team-a/sites/docs');

  step('a build prints as it runs');
  await apiCall('POST', '/namespaces/team-a/sites', {
    apiVersion: 'wok.dev/v1alpha1', kind: 'Site', metadata: { name: 'slow', namespace: 'team-a' },
    spec: { mode: 'static', hosts: ['slow.team-a.localhost'], source: { git: { url: env('SLOW_REPO') } },
            build: { command: ['sh', '-c', 'echo build-marker-one; sleep 15; mkdir -p o; echo slow > o/index.html'],
                     output: 'o' } } });
  await p.goto(API + '/console/#/p/team-a/s/slow');
  await p.locator('#build-log').getByText('build-marker-one').waitFor({ timeout: 60000 });
  assert.match(await p.locator('#build-title').innerText(), /running/);
  // Seen while it still ran: its revision is not over yet.
  const revisions = await apiCall('GET', '/namespaces/team-a/sites/slow/revisions');
  assert.equal(revisions.items[0].outcome, 'Pending');
  await p.screenshot({ path: ARTIFACTS + '/build-live.png', fullPage: true });
  await p.locator('#build-title').getByText('Build log of the newest revision').waitFor({ timeout: 90000 });
  assert.match(await p.locator('#build-log').innerText(), /build-marker-one/);

  step('the pages pass an accessibility audit (axe-core, WCAG 2 AA)');
  // In a context of its own that lets axe's script in (the console's CSP,
  // rightly, does not); the pages above ran under it.
  const audit = await (await browser.newContext({ bypassCSP: true, viewport: { width: 1200, height: 900 } })).newPage();
  await audit.goto(API + '/console/');
  await audit.getByLabel('API token').waitFor();
  await accessible(audit, 'the sign-in page');
  await signIn(audit, env('TOKEN_DEV'));
  await audit.getByRole('link', { name: 'team-a' }).waitFor();
  await accessible(audit, 'the projects page');
  await audit.goto(API + '/console/#/p/team-a');
  await audit.locator('[data-node="site:www"]').waitFor();
  await accessible(audit, 'the project page');
  await audit.goto(API + '/console/#/p/team-a/s/api');
  await audit.locator('#events').waitFor();
  await accessible(audit, 'the site page');
  await audit.goto(API + '/console/#/p/team-a/new');
  await audit.getByLabel('Git repository URL').waitFor();
  await accessible(audit, 'the create form');

  assert.deepEqual(problems, [], 'the browser console or requests reported errors');
  console.log('ok');
} catch (e) {
  console.error(e);
  console.error('browser problems:', problems);
  process.exitCode = 1;
} finally {
  await browser.close();
}
