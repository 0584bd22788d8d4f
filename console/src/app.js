// The wok console (docs/console.md): plain JavaScript on the API that the
// CLI uses, live through its watches. Everything shown is text set with
// textContent (never HTML from data); the token stays in this tab's
// sessionStorage and goes in an Authorization header (no cookie).
'use strict';

const API = '/apis/wok.dev/v1alpha1';
const app = {
  token: sessionStorage.getItem('wok-token') || '',
  me: null,         // {user, platformAdmin}
  stop: [],         // what the current page must end when it is left (watches, timers)
};

// ---------- DOM ----------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}
function show(...children) {
  const main = document.getElementById('main');
  main.replaceChildren(...children);
}
function announce(text) { document.getElementById('live').textContent = text; }

// ---------- API ----------
class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}
async function api(path, options = {}) {
  const headers = { Accept: 'application/json', Authorization: 'Bearer ' + app.token };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(API + path, {
    method: options.method || 'GET', headers, signal: options.signal,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch (e) { body = null; }
  if (!r.ok) throw new ApiError(r.status, (body && body.message) || r.status + ' ' + r.statusText);
  return body;
}

// A stream of JSON lines (a watch, a followed log): onLine(object) for
// each, false from it ends the stream; returns when the stream ends.
async function readLines(path, signal, onLine) {
  const r = await fetch(API + path, { headers: { Authorization: 'Bearer ' + app.token }, signal });
  if (!r.ok) {
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    throw new ApiError(r.status, (body && body.message) || r.status + ' ' + r.statusText);
  }
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    pending += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = JSON.parse(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      if (onLine(line) === false) { reader.cancel(); return; }
    }
  }
}

// A list, then its changes through the watch: onChange(Map key -> object)
// after the list and after every change. Ends when the page is left.
function follow(collection, selector, onChange) {
  const abort = new AbortController();
  app.stop.push(() => abort.abort());
  const items = new Map();
  const key = (o) => (o.metadata.namespace || '') + '/' + o.metadata.name;
  const query = selector ? 'fieldSelector=' + encodeURIComponent(selector) : '';
  (async () => {
    let version = '';
    let retry = 1000;  // after a failure: 1 s, doubling up to 30 s
    while (!abort.signal.aborted) {
      try {
        if (!version) {
          const list = await api(collection + (query ? '?' + query : ''), { signal: abort.signal });
          items.clear();
          for (const o of list.items) items.set(key(o), o);
          version = list.metadata.resourceVersion;
          onChange(items);
        }
        await readLines(collection + '?watch=1&allowWatchBookmarks=true&resourceVersion=' + version +
                        (query ? '&' + query : ''), abort.signal, (event) => {
          const o = event.object;
          if (event.type === 'ERROR') {
            if (o.code === 410) { version = ''; return false; }
            throw new ApiError(o.code, o.message);
          }
          if (o.metadata && o.metadata.resourceVersion) version = o.metadata.resourceVersion;
          if (event.type === 'BOOKMARK') return true;
          if (event.type === 'DELETED') items.delete(key(o)); else items.set(key(o), o);
          onChange(items);
          return true;
        });
        retry = 1000;
      } catch (e) {
        if (abort.signal.aborted) return;
        if (e instanceof ApiError && e.status === 410) { version = ''; continue; }  // list again
        // Refused or malformed (a name in the address that does not exist):
        // said once, not asked again.
        if (e instanceof ApiError && e.status >= 400 && e.status < 500) { onChange(items, e); return; }
        await new Promise((ok) => setTimeout(ok, retry));
        retry = Math.min(retry * 2, 30000);
        version = '';
      }
    }
  })();
}

function every(ms, fn) {
  fn();
  const id = setInterval(fn, ms);
  app.stop.push(() => clearInterval(id));
}

// ---------- what things mean ----------
function condition(o, type) {
  return ((o.status && o.status.conditions) || []).find((c) => c.type === type);
}
// ok, bad, busy or unknown, and the words for it.
function stateOf(site) {
  const ready = condition(site, 'Ready');
  if (!ready) return ['unknown', 'Not looked at yet'];
  if (ready.status === 'True') return ['ok', 'Ready'];
  if (ready.reason === 'Progressing') return ['busy', 'Starting'];
  return ['bad', ready.reason || 'Not ready'];
}
function badge(site) {
  const [cls, words] = stateOf(site);
  return h('span', { class: 'state ' + cls }, words);
}
function age(ts) {
  if (!ts) return '';
  const secs = Math.max(0, (Date.now() - Date.parse(ts)) / 1000);
  if (secs < 60) return Math.floor(secs) + 's';
  if (secs < 3600) return Math.floor(secs / 60) + 'm';
  if (secs < 86400) return Math.floor(secs / 3600) + 'h';
  return Math.floor(secs / 86400) + 'd';
}
function roleIn(project) {
  if (app.me && app.me.platformAdmin) return 'admin';
  const m = ((project.spec && project.spec.members) || []).find((m) => m.user === (app.me && app.me.user));
  return m ? m.role : 'none';
}
function mayEdit(project) { const r = roleIn(project); return r === 'admin' || r === 'developer'; }

// Components of a site: name, ready, wanted, autoscale range.
function components(site) {
  const spec = site.spec || {}, status = site.status || {};
  const instances = status.instances || [];
  const ready = (name) => instances.filter((i) => i.component === name && i.phase === 'Ready').length;
  if (spec.mode === 'app') {
    const auto = (spec.app && spec.app.autoscale) || null;
    const routed = ((spec.app && spec.app.components) || []).find((c) => c.port) || {};
    return ((spec.app && spec.app.components) || []).map((c) => {
      const scaled = auto && (auto.component || routed.name) === c.name;
      const wanted = scaled && status.autoscale && status.autoscale.replicas
        ? status.autoscale.replicas : (c.replicas === undefined ? 1 : c.replicas);
      return { name: c.name, ready: ready(c.name), wanted,
               autoscale: scaled ? [auto.minReplicas || 1, auto.maxReplicas] : null };
    });
  }
  if (spec.mode === 'php') {
    const names = [...new Set(instances.map((i) => i.component))];
    return (names.length ? names : ['php']).map((n) => ({ name: n, ready: ready(n), wanted: 1, autoscale: null }));
  }
  return [];
}

// ---------- pages ----------
function crumbs(...parts) {
  const nav = document.getElementById('crumbs');
  nav.replaceChildren(...parts.map((p, i) => (p.href && i < parts.length - 1)
    ? h('a', { href: p.href }, p.text) : h('span', { 'aria-current': i === parts.length - 1 ? 'page' : null }, p.text)));
}

function loginPage(message) {
  crumbs({ text: 'Sign in' });
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true });
  const form = h('form', { class: 'login', onsubmit: async (e) => {
    e.preventDefault();
    app.token = input.value.trim();
    try {
      app.me = await api('/whoami');
      sessionStorage.setItem('wok-token', app.token);
      location.hash = '#/';
      route();
    } catch (err) {
      app.token = '';
      loginPage(err.status === 401 ? 'This token was refused: check it, or ask your platform admin for one.'
                                   : 'Cannot sign in: ' + err.message);
    }
  } },
  h('label', { for: 'token' }, 'API token'),
  input,
  h('p', { class: 'muted' }, 'The token `wok token create USER` printed (or DATA/admin.token). It stays in this tab only.'),
  h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  show(h('h1', {}, 'Sign in to wok'), message ? h('p', { class: 'error', role: 'alert' }, message) : '', form);
  input.focus();
}

function projectsPage() {
  crumbs({ text: 'Projects' });
  const list = h('div', { class: 'cards' });
  show(h('h1', {}, 'Projects'), list);
  follow('/projects', '', (items, error) => {
    if (error) return list.replaceChildren(h('p', { class: 'error' }, error.message));
    const cards = [...items.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)).map((p) =>
      h('div', { class: 'card' },
        h('h2', {}, h('a', { href: '#/p/' + p.metadata.name }, p.metadata.name)),
        h('div', { class: 'muted' }, 'your role: ' + roleIn(p)),
        h('div', {}, ((p.spec && p.spec.hosts) || []).join(', '))));
    list.replaceChildren(...(cards.length ? cards : [h('p', {}, 'You are a member of no project yet.')]));
  });
}

// The topology: a node per site, its components, jobs, database, services
// and volumes beside it, laid out by dagre, drawn as SVG (links are focusable).
function topology(project, sites) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 50, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const nodes = new Map();
  const add = (id, lines, cls, href, label) => {
    const width = Math.max(...lines.map((l) => l.length)) * 7 + 24;
    nodes.set(id, { lines, cls, href, label });
    g.setNode(id, { width, height: lines.length * 16 + 14 });
  };
  for (const site of sites) {
    const name = site.metadata.name, spec = site.spec || {};
    const [cls, words] = stateOf(site);
    const href = '#/p/' + project + '/s/' + name;
    add('site:' + name, [name, spec.mode + ' · ' + words], cls, href, 'site ' + name + ', ' + spec.mode + ', ' + words);
    for (const c of components(site)) {
      const counts = c.ready + '/' + c.wanted + ' ready';
      const lines = [c.name, counts];
      if (c.autoscale) lines.push('autoscaled ' + c.autoscale[0] + '–' + c.autoscale[1] + ' (' + c.wanted + ' pods)');
      const ccls = c.ready >= c.wanted && c.wanted > 0 ? 'ok' : (c.ready === 0 && c.wanted > 0 ? 'bad' : 'busy');
      add('c:' + name + ':' + c.name, lines, ccls, href, 'component ' + c.name + ' of ' + name + ': ' + lines.slice(1).join(', '));
      g.setEdge('site:' + name, 'c:' + name + ':' + c.name);
    }
    for (const j of (spec.app && spec.app.jobs) || []) {
      add('j:' + name + ':' + j.name, ['job ' + j.name, j.schedule || 'on demand'], 'part', href, 'cron job ' + j.name + ' of ' + name);
      g.setEdge('site:' + name, 'j:' + name + ':' + j.name);
    }
    if (spec.database) {
      add('db:' + name, ['database', spec.database.engine + ' ' + spec.database.size], 'part', href, 'database of ' + name);
      g.setEdge('site:' + name, 'db:' + name);
    }
    for (const sv of spec.services || []) {
      add('sv:' + name + ':' + sv.name, [sv.name, sv.engine], 'part', href, sv.engine + ' service ' + sv.name + ' of ' + name);
      g.setEdge('site:' + name, 'sv:' + name + ':' + sv.name);
    }
    for (const v of spec.storage || []) {
      add('v:' + name + ':' + v.name, ['volume ' + v.name, v.size + ' at ' + v.path], 'part', href, 'volume ' + v.name + ' of ' + name);
      g.setEdge('site:' + name, 'v:' + name + ':' + v.name);
    }
  }
  dagre.layout(g);
  const graph = g.graph();
  // Not an image: its nodes are links (the container names the group).
  const svg = s('svg', { width: Math.max(graph.width || 0, 200), height: Math.max(graph.height || 0, 60) });
  for (const e of g.edges()) {
    const pts = g.edge(e).points;
    svg.append(s('path', { class: 'edge', d: 'M' + pts.map((p) => p.x + ',' + p.y).join(' L') }));
  }
  for (const [id, n] of nodes) {
    const box = g.node(id);
    const x = box.x - box.width / 2, y = box.y - box.height / 2;
    const group = s('g', { class: 'node ' + n.cls, 'data-node': id });
    group.append(s('rect', { x, y, width: box.width, height: box.height }));
    n.lines.forEach((line, i) => group.append(s('text', { x: x + 10, y: y + 20 + i * 16, class: i === 0 ? 'title' : '' }, line)));
    const link = s('a', { href: n.href, 'aria-label': n.label });
    link.append(group);
    svg.append(link);
  }
  return svg;
}

// What the sites count against the quota, as admission counts it (the
// API's .../projects/NAME/usage), one bar per limit the project sets.
async function quotaBars(project) {
  const usage = await api('/projects/' + project.metadata.name + '/usage');
  const quota = usage.quota || {};
  const used = usage.used;
  const rows = [];
  const bar = (label, value, max, text) => rows.push(h('div', { class: 'bar' },
    h('span', {}, label), h('meter', { min: 0, max, value, 'aria-label': label + ' used: ' + text }), h('span', {}, text)));
  const qty = (q) => {
    const m = String(q).match(/^([0-9.]+)([a-zA-Z]*)$/);
    if (!m) return 0;
    const units = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
    return parseFloat(m[1]) * (units[m[2]] === undefined ? 1 : units[m[2]]);
  };
  if (quota.sites) bar('Sites', used.sites, quota.sites, used.sites + ' of ' + quota.sites);
  if (quota.cpu) bar('CPU', used.cpuMillis / 1000, qty(quota.cpu), used.cpu + ' of ' + quota.cpu + (usage.cpuUnlimited ? ' (some unlimited)' : ''));
  if (quota.memory) bar('Memory', used.memoryBytes, qty(quota.memory), used.memory + ' of ' + quota.memory);
  if (quota.storage) bar('Storage', used.storageBytes, qty(quota.storage), used.storage + ' of ' + quota.storage);
  return rows.length ? h('div', { class: 'bars', id: 'quota' }, rows)
                     : h('p', { class: 'muted' }, 'This project has no quota (' + used.instances + ' instances, ' + used.memory + ' of memory, ' + used.storage + ' of storage).');
}

async function projectPage(name) {
  crumbs({ text: 'Projects', href: '#/' }, { text: name });
  let project;
  try { project = await api('/projects/' + name); } catch (e) { return show(h('h1', {}, name), h('p', { class: 'error' }, e.message)); }
  const graph = h('div', { class: 'topology', id: 'topology', role: 'group', 'aria-label': 'Topology of project ' + name });
  const bars = h('div', {});
  const table = h('div', {});
  show(h('h1', {}, 'Project ' + name),
       h('p', { class: 'muted' }, 'Your role: ' + roleIn(project)),
       mayEdit(project) ? h('p', {}, h('a', { href: '#/p/' + name + '/new' }, 'Create a site')) : '',
       h('h2', {}, 'Topology'), graph, h('h2', {}, 'Quota'), bars, h('h2', {}, 'Sites'), table);
  follow('/namespaces/' + name + '/sites', '', (items, error) => {
    if (error) return graph.replaceChildren(h('p', { class: 'error' }, error.message));
    const sites = [...items.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    graph.replaceChildren(sites.length ? topology(name, sites) : h('p', { class: 'muted' }, 'No sites yet.'));
    quotaBars(project).then((el) => bars.replaceChildren(el), (e) => bars.replaceChildren(h('p', { class: 'error' }, e.message)));
    table.replaceChildren(h('table', {},
      h('thead', {}, h('tr', {}, ['Site', 'Mode', 'State', 'Revision', 'URL'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, sites.map((site) => h('tr', {},
        h('td', {}, h('a', { href: '#/p/' + name + '/s/' + site.metadata.name }, site.metadata.name)),
        h('td', {}, site.spec.mode), h('td', {}, badge(site)),
        h('td', {}, String((site.status && site.status.revision) || '—')),
        h('td', {}, ((site.status && site.status.urls) || []).slice(0, 1).map((u) => h('a', { href: u }, u))))))));
  });
}

// Two texts, line by line: what the second adds and removes (LCS).
function lineDiff(a, b) {
  const x = a.split('\n'), y = b.split('\n');
  const n = x.length, m = y.length;
  const t = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
    t[i][j] = x[i] === y[j] ? t[i + 1][j + 1] + 1 : Math.max(t[i + 1][j], t[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { out.push(h('span', {}, '  ' + x[i] + '\n')); i++; j++; }
    else if (j < m && (i === n || t[i][j + 1] >= t[i + 1][j])) { out.push(h('span', { class: 'diff-add' }, '+ ' + y[j] + '\n')); j++; }
    else { out.push(h('span', { class: 'diff-del' }, '- ' + x[i] + '\n')); i++; }
  }
  return out;
}

function chart(title, seriesNames, data) {
  const el = h('div', { class: 'chart', role: 'img', 'aria-label': title });
  if (!data[0].length) { el.append(h('p', { class: 'muted' }, title + ': no requests yet.')); return el; }
  // eslint-disable-next-line no-new
  new uPlot({ title, width: 520, height: 180,
              series: [{}, ...seriesNames.map((label, i) => ({ label, stroke: ['#0b57d0', '#146c2e', '#a4161a', '#b45309'][i % 4] }))] },
            data, el);
  return el;
}

async function sitePage(ns, name) {
  crumbs({ text: 'Projects', href: '#/' }, { text: ns, href: '#/p/' + ns }, { text: name });
  let project;
  try { project = await api('/projects/' + ns); } catch (e) { return show(h('p', { class: 'error' }, e.message)); }
  const editor = mayEdit(project);
  const head = h('div', {}), conds = h('div', {}), comps = h('div', {}), revs = h('div', {});
  const events = h('div', {}), logs = h('pre', { id: 'logs', role: 'region', 'aria-label': 'Runtime logs', tabindex: '0' });
  const build = h('pre', { id: 'build-log', role: 'region', 'aria-label': 'Build log', tabindex: '0' }), stats = h('div', {});
  const yaml = h('pre', { id: 'spec', role: 'region', 'aria-label': 'The spec as YAML', tabindex: '0' });
  const buildTitle = h('h2', { id: 'build-title' }, 'Build log');
  show(head, h('h2', {}, 'Status'), conds, comps, h('h2', {}, 'Revisions'), revs,
       h('h2', {}, 'Events'), events, h('h2', {}, 'Access statistics (last 15 minutes, per minute)'), stats,
       h('h2', {}, 'Runtime logs'), logs, buildTitle, build,
       h('h2', {}, 'Spec'), yaml);
  const base = '/namespaces/' + ns + '/sites/' + name;
  let current = null;
  const loadRevisions = async () => {
    let list;
    try { list = await api(base + '/revisions'); } catch (e) { return revs.replaceChildren(h('p', { class: 'error' }, e.message)); }
    const items = list.items || [];
    const compareA = h('select', { 'aria-label': 'Compare from revision' }, items.map((r) => h('option', { value: r.revision }, 'revision ' + r.revision)));
    const compareB = h('select', { 'aria-label': 'Compare to revision' }, items.map((r) => h('option', { value: r.revision }, 'revision ' + r.revision)));
    if (items.length > 1) compareA.value = String(items[1].revision);
    const diff = h('pre', { id: 'diff', role: 'region', 'aria-label': 'Difference of the specs', tabindex: '0' });
    const compare = () => {
      const a = items.find((r) => String(r.revision) === compareA.value), b = items.find((r) => String(r.revision) === compareB.value);
      if (a && b) diff.replaceChildren(...lineDiff(JSON.stringify(a.spec, null, 2), JSON.stringify(b.spec, null, 2)));
    };
    compareA.addEventListener('change', compare); compareB.addEventListener('change', compare);
    revs.replaceChildren(h('table', {},
      h('thead', {}, h('tr', {}, ['Revision', 'Commit', 'Outcome', 'Created', 'By', 'Cause', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, items.map((r) => h('tr', { 'data-revision': r.revision },
        h('td', {}, String(r.revision)), h('td', {}, (r.commit || '').slice(0, 7)),
        h('td', {}, r.outcome + (r.live ? ' (live)' : '')), h('td', {}, r.createdAt),
        h('td', { class: 'author' }, r.author || '—'), h('td', {}, r.cause || ''),
        h('td', {}, editor && !r.live && r.outcome === 'Deployed'
          ? h('button', { type: 'button', class: 'danger', 'aria-label': 'Roll back to revision ' + r.revision, onclick: async () => {
              if (!confirm('Roll back ' + name + ' to revision ' + r.revision + '?')) return;
              try { await api(base + '/rollback', { method: 'POST', body: { toRevision: r.revision } }); announce('Rolling back to revision ' + r.revision); }
              catch (e) { alert(e.message); }
            } }, 'Roll back')
          : ''))))),
    items.length > 1 ? h('div', {}, h('h3', {}, 'Compare specs'), compareA, ' → ', compareB, diff) : '');
    compare();
  };
  follow('/namespaces/' + ns + '/sites', 'metadata.name=' + name, (items, error) => {
    if (error) return head.replaceChildren(h('p', { class: 'error' }, error.message));
    const site = items.get(ns + '/' + name);
    if (!site) return head.replaceChildren(h('h1', {}, name), h('p', { class: 'error' }, 'This site does not exist (any more).'));
    const revisionChanged = !current || (current.status || {}).revision !== (site.status || {}).revision ||
                            current.metadata.generation !== site.metadata.generation;
    current = site;
    const st = site.status || {};
    head.replaceChildren(h('h1', {}, name + ' ', badge(site)),
      h('p', {}, 'Mode ' + site.spec.mode + ', revision ' + (st.revision || '—') + (st.commit ? ', commit ' + st.commit.slice(0, 7) : '')),
      h('p', {}, ...(st.urls || []).map((u) => h('a', { href: u, style: 'margin-right:1rem' }, u))));
    conds.replaceChildren(h('table', {},
      h('thead', {}, h('tr', {}, ['Condition', 'Status', 'Why', 'Since'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, (st.conditions || []).map((c) => h('tr', {},
        h('td', {}, c.type), h('td', {}, c.status === 'True' ? 'yes' : c.status === 'False' ? 'no' : 'unknown'),
        h('td', {}, c.message || c.reason || ''), h('td', {}, age(c.lastTransitionTime) + ' ago'))))));
    const cs = components(site);
    comps.replaceChildren(cs.length ? h('table', { id: 'components' },
      h('thead', {}, h('tr', {}, ['Component', 'Ready', 'Wanted', 'Autoscale'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, cs.map((c) => h('tr', {}, h('td', {}, c.name), h('td', {}, String(c.ready)), h('td', {}, String(c.wanted)),
        h('td', {}, c.autoscale ? c.autoscale[0] + '–' + c.autoscale[1] : '—'))))) : '');
    const spec = { apiVersion: site.apiVersion, kind: site.kind,
                   metadata: { name: site.metadata.name, namespace: site.metadata.namespace }, spec: site.spec };
    yaml.textContent = toYaml(spec);
    if (revisionChanged) loadRevisions();
  });
  follow('/namespaces/' + ns + '/events', 'involvedObject.name=' + name, (items, error) => {
    if (error) return events.replaceChildren(h('p', { class: 'error' }, error.message));
    const list = [...items.values()].sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
    events.replaceChildren(list.length ? h('table', { id: 'events' },
      h('thead', {}, h('tr', {}, ['Type', 'Reason', 'Age', 'Message'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.slice(-30).map((e) => h('tr', {}, h('td', {}, e.type), h('td', {}, e.reason),
        h('td', {}, age(e.lastTimestamp)), h('td', {}, e.message + (e.count > 1 ? ' (x' + e.count + ')' : '')))))) : h('p', { class: 'muted' }, 'No events.'));
  });
  // Logs: followed, as they are written (a stream the server keeps open).
  const offsets = {};
  const logsAbort = new AbortController();
  app.stop.push(() => logsAbort.abort());
  (async () => {
    let retry = 1000;  // after a failure: 1 s, doubling up to 30 s
    while (!logsAbort.signal.aborted) {
      const from = Object.entries(offsets).map(([k, v]) => k + ':' + v).join(',');
      let last = null;
      try {
        await readLines(base + '/logs?follow=true&tail=100' + (from ? '&from=' + from : ''), logsAbort.signal, (o) => {
          if (o.kind === 'Status') { last = o; return false; }
          for (const stream of o.items || []) {
            offsets[stream.instance + ':' + stream.stream] = stream.offset;
            for (const line of stream.lines || []) logs.append(stream.instance + ' ' + line + '\n');
          }
          // The newest 1000 lines: an app that logs a lot does not grow the tab.
          while (logs.childNodes.length > 1000) logs.firstChild.remove();
          retry = 1000;
          return true;
        });
      } catch (e) {
        if (logsAbort.signal.aborted) return;
        if (e instanceof ApiError && e.status >= 400 && e.status < 500) last = { message: e.message };
      }
      if (last) { logs.append('(' + last.message + ')\n'); return; }  // said once, not asked again
      await new Promise((ok) => setTimeout(ok, retry));
      retry = Math.min(retry * 2, 30000);
    }
  })();
  // The build under way as it prints, else the newest revision's.
  every(2000, async () => {
    let b;
    try { b = await api(base + '/buildlog'); } catch (e) { return; }
    const text = b.log || 'No build output.';
    buildTitle.textContent = b.running ? 'Build of revision ' + b.revision + ', running'
                                       : 'Build log of the newest revision' + (b.revision ? ' (' + b.revision + ')' : '');
    if (build.textContent !== text) build.textContent = text;
  });
  every(10000, async () => {
    let st;
    try { st = await api(base + '/stats?minutes=15'); } catch (e) { return; }
    const series = st.series || [];
    const t = series.map((p) => Date.parse(p.minute) / 1000);
    stats.replaceChildren(
      h('p', {}, st.requests + ' requests, p50 ' + st.latencyMs.p50 + ' ms, p99 ' + st.latencyMs.p99 + ' ms, ' +
                 (st.bytes / 1024).toFixed(1) + ' KiB sent'),
      h('div', { class: 'grid2' },
        chart('Requests per second', ['2xx', '3xx', '4xx', '5xx'],
              [t, ...['2xx', '3xx', '4xx', '5xx'].map((c) => series.map((p) => p.byStatusClass[c] / 60))]),
        chart('Latency (ms)', ['p50', 'p99'], [t, series.map((p) => p.p50), series.map((p) => p.p99)]),
        chart('Bandwidth (KiB/s)', ['sent'], [t, series.map((p) => p.bytes / 1024 / 60)])));
  });
}

// A form per mode that ends by showing the YAML it made, then applies it.
async function newSitePage(ns) {
  crumbs({ text: 'Projects', href: '#/' }, { text: ns, href: '#/p/' + ns }, { text: 'New site' });
  const field = (id, label, attrs = {}) => [h('label', { for: id }, label), h('input', { id, ...attrs })];
  const mode = h('select', { id: 'mode' }, ['static', 'php', 'app'].map((m) => h('option', { value: m }, m)));
  const out = h('pre', { id: 'made-yaml', role: 'region', 'aria-label': 'The site as YAML', tabindex: '0' });
  const message = h('div', { role: 'status' });
  const form = h('form', { class: 'login', onsubmit: async (e) => {
    e.preventDefault();
    const v = (id) => document.getElementById(id).value.trim();
    const site = { apiVersion: 'wok.dev/v1alpha1', kind: 'Site', metadata: { name: v('name'), namespace: ns },
                   spec: { mode: mode.value, hosts: [v('host')], source: { git: { url: v('git'), ref: v('ref') || 'main' } } } };
    if (mode.value === 'app') {
      site.spec.app = { components: [{ name: 'web', command: v('command').split(' ').filter(Boolean), port: 8080,
                                       replicas: Number(v('replicas') || 1) }] };
    }
    out.textContent = toYaml(site);
    try {
      await api('/namespaces/' + ns + '/sites', { method: 'POST', body: site });
      message.replaceChildren(h('p', {}, 'Created. ', h('a', { href: '#/p/' + ns + '/s/' + site.metadata.name }, 'Open ' + site.metadata.name)));
    } catch (err) { message.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message)); }
  } },
  h('label', { for: 'mode' }, 'Mode'), mode,
  ...field('name', 'Name', { required: true, pattern: '[a-z0-9]([a-z0-9\\-]*[a-z0-9])?' }),
  ...field('host', 'Host name', { required: true }),
  ...field('git', 'Git repository URL', { required: true }),
  ...field('ref', 'Branch', { placeholder: 'main' }),
  ...field('command', 'Command (app)', { placeholder: 'python3 app.py' }),
  ...field('replicas', 'Replicas (app)', { type: 'number', min: 1, value: 1 }),
  h('button', { type: 'submit', class: 'primary' }, 'Create'));
  show(h('h1', {}, 'New site in ' + ns), form, message, h('h2', {}, 'The YAML this makes (wok apply -f it does the same)'), out);
}

function toYaml(value, indent = '') {
  if (Array.isArray(value)) return value.map((v) => indent + '- ' + toYaml(v, indent + '  ').trimStart()).join('');
  if (value && typeof value === 'object') {
    return Object.entries(value).map(([k, v]) => (v && typeof v === 'object')
      ? indent + k + ':\n' + toYaml(v, indent + '  ') : indent + k + ': ' + JSON.stringify(v) + '\n').join('');
  }
  return indent + JSON.stringify(value) + '\n';
}

// ---------- routing ----------
async function route() {
  for (const stop of app.stop.splice(0)) stop();
  if (!app.token) return loginPage();
  if (!app.me) {
    try { app.me = await api('/whoami'); } catch (e) {
      app.token = ''; sessionStorage.removeItem('wok-token');
      return loginPage(e.status === 401 ? 'Your token was refused; sign in again.' : e.message);
    }
  }
  document.getElementById('who').textContent = app.me.user + (app.me.platformAdmin ? ' (platform admin)' : '');
  document.getElementById('sign-out').hidden = false;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'p' && parts.length === 2) return projectPage(parts[1]);
  if (parts[0] === 'p' && parts[2] === 'new') return newSitePage(parts[1]);
  if (parts[0] === 'p' && parts[2] === 's' && parts[3]) return sitePage(parts[1], parts[3]);
  return projectsPage();
}

document.getElementById('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem('wok-token');
  app.token = ''; app.me = null;
  document.getElementById('who').textContent = '';
  document.getElementById('sign-out').hidden = true;
  location.hash = '#/';
  route();
});
window.addEventListener('hashchange', route);
route();
