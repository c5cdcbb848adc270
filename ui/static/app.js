// The UI's entry point: routing between pages, the event stream that
// keeps the store live, the pollers of metrics and servers, and a render
// loop that redraws the open page at most a few times a second.

import { subscribe, getJSON } from './api.js';
import { store, apply, onChange } from './store.js';
import { overviewPage, addSample, cluster } from './overview.js';
import { agentsPage, frameworksPage, tasksPage } from './pages.js';
import { sandboxPage } from './sandbox.js';
import { esc } from './util.js';

const RENDER_MS = 250; // the most often the open page is redrawn
const METRICS_MS = 2000;
const SERVERS_MS = 5000;
const TICK_MS = 5000; // redraw anyway, for the ages

const view = document.getElementById('view');
let page = null;
let routeKey = '';

// route parses the location's hash: #/name[/a/b][?k=v].
function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(query || ''));
  const name = parts[0] || 'overview';
  if (name === 'tasks' && parts.length >= 3) return { name: 'task', page: sandboxPage, params: { ...params, fw: parts[1], task: parts[2] } };
  const pages = { overview: overviewPage, agents: agentsPage, frameworks: frameworksPage, tasks: tasksPage };
  return { name, page: pages[name], params };
}

function navigate() {
  if (page && page.unmount) page.unmount();
  const r = route();
  routeKey = location.hash;
  page = r.page || null;
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.classList.toggle('active', a.dataset.nav === (r.name === 'task' ? 'tasks' : r.name));
  }
  if (!page) {
    view.innerHTML = `<h1>Not found</h1><p class="sub">There is no page “${esc(r.name)}”. <a href="#/overview">Go to the overview.</a></p>`;
    setCrumbs([['Not found', null]]);
    return;
  }
  document.title = `${page.title} · mesh`;
  view.dataset.page = r.name;
  page.mount(view, r.params);
  setCrumbs(page.crumbs ? page.crumbs() : [[page.title, null]]);
  draw();
}

function setCrumbs(items) {
  document.getElementById('crumbs').innerHTML = items.map(([t, href]) => (href ? `<a href="${href}">${esc(t)}</a>` : `<b>${esc(t)}</b>`)).join('<span class="sep">/</span>');
}

function draw() {
  drawNav();
  if (page) page.update();
}

function drawNav() {
  let live = 0;
  for (const a of store.agents.values()) if (a.active) live++;
  let fws = 0;
  for (const f of store.frameworks.values()) if (f.active) fws++;
  document.getElementById('nav-agents').textContent = store.loaded ? live : '';
  document.getElementById('nav-frameworks').textContent = store.loaded ? fws : '';
  document.getElementById('nav-tasks').textContent = store.loaded ? store.tasks.size : '';
  const s = cluster.servers;
  document.getElementById('leader').innerHTML = s
    ? `leader <span class="mono">${esc(s.leader || 'none')}</span> · this page from <span class="mono">${esc(s.self)}</span>`
    : '';
}

// schedule redraws the page soon, once however many changes come.
let pending = null;
function schedule() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    draw();
  }, RENDER_MS);
}

function setConn(status, reason) {
  const el = document.getElementById('conn');
  el.className = 'conn ' + (status === 'live' ? 'live' : status === 'down' ? 'down' : '');
  document.getElementById('conn-text').textContent = status === 'live' ? 'live' : status === 'down' ? 'reconnecting' : 'connecting';
  el.title = reason || '';
  if (status === 'down') console.warn('operator event stream:', reason);
}

// every runs fn now and then every ms, one run at a time.
function every(ms, fn) {
  const run = async () => {
    try {
      await fn();
    } finally {
      setTimeout(run, ms);
    }
  };
  run();
}

onChange(schedule);
window.addEventListener('hashchange', () => {
  if (location.hash !== routeKey) navigate();
});
if (!location.hash) history.replaceState(null, '', '#/overview');
navigate();
subscribe((ev) => {
  apply(ev);
  if (ev.type === 'SUBSCRIBED') {
    // A new whole state: show it now rather than at the next redraw.
    performance.mark('mesh-state-loaded');
    clearTimeout(pending);
    pending = null;
    draw();
    performance.mark('mesh-state-shown');
  }
}, setConn);
every(METRICS_MS, async () => {
  try {
    addSample(await getJSON('/metrics/snapshot'));
    cluster.metricsError = '';
  } catch (err) {
    cluster.metricsError = err.message;
  }
  schedule();
});
every(SERVERS_MS, async () => {
  try {
    cluster.servers = await getJSON('/ui/servers');
    cluster.serversError = '';
  } catch (err) {
    cluster.serversError = err.message;
  }
  schedule();
});
setInterval(schedule, TICK_MS);
