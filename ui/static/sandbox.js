// The task page: what the cluster knows of one task, and its sandbox on
// its agent: stdout and stderr followed live, and a file browser.

import { store, LIVE_STATES } from './store.js';
import { getJSON, HTTPError } from './api.js';
import { esc, age, time, num, mb, taskBadge, stateName } from './util.js';
import { hostOf, fwName } from './pages.js';

const POLL_MS = 500; // how often a followed file is read
const FIRST_BYTES = 64 << 10; // how much of a long file is shown at first
const READ_BYTES = 1 << 20; // the most one read asks for
const KEEP_CHARS = 2 << 20; // the most of a file kept in the page

function sandboxDir(t) {
  return `/frameworks/${t.fw}/executors/${t.executor}/runs/latest`;
}

function filesURL(op, agent, params) {
  const q = new URLSearchParams({ agent_id: agent, ...params });
  return `/ui/files/${op}?${q}`;
}

const utf8 = new TextEncoder();

// Tail follows one file of a sandbox into a <pre>: the last 64 KiB at
// first, then whatever is appended, every POLL_MS, until stopped or the
// task has ended and a read finds nothing new.
class Tail {
  constructor(task, path, pre, status) {
    this.task = task;
    this.path = path;
    this.pre = pre;
    this.status = status;
    this.offset = null;
    this.stopped = false;
    this.timer = null;
    this.ctl = new AbortController();
    this.poll();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ctl.abort();
  }

  // state is the task's latest state (the store's objects are replaced
  // when the stream reconnects).
  state() {
    return (store.tasks.get(this.task.key) || this.task).state;
  }

  async read(offset, length) {
    return getJSON(filesURL('read', this.task.agent, { path: this.path, offset, length }), this.ctl.signal);
  }

  async poll() {
    if (this.stopped) return;
    let more = false;
    try {
      if (this.offset === null) {
        const end = await this.read(-1, 0);
        this.offset = Math.max(0, end.offset - FIRST_BYTES);
        if (this.offset > 0) this.append(`[… ${this.offset} earlier bytes not shown …]\n`);
      }
      const r = await this.read(this.offset, READ_BYTES);
      if (r.data) {
        this.append(r.data);
        this.offset = r.offset + utf8.encode(r.data).length;
        more = true;
      }
      const state = this.state();
      const live = LIVE_STATES.has(state);
      this.status.textContent = live ? `following · ${this.offset} bytes` : `task ${stateName(state)} · ${this.offset} bytes`;
      if (!live && !more) return; // the task is done and so is the file
    } catch (err) {
      if (this.stopped || err.name === 'AbortError') return;
      const missing = err instanceof HTTPError && err.status === 404;
      if (missing && !LIVE_STATES.has(this.state())) {
        this.status.textContent = `not in the sandbox: ${err.message}`;
        return; // the task has ended: the file will not appear
      }
      this.status.textContent = missing ? `waiting for the file to appear in the sandbox… (${err.message})` : `cannot read: ${err.message}`;
    }
    this.timer = setTimeout(() => this.poll(), more ? 50 : POLL_MS);
  }

  append(text) {
    const pre = this.pre;
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.append(document.createTextNode(text));
    if (pre.textContent.length > KEEP_CHARS) pre.textContent = pre.textContent.slice(-KEEP_CHARS);
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }
}

export const sandboxPage = {
  title: 'Task',
  mount(el, params) {
    this.el = el;
    this.key = params.fw + ' ' + params.task;
    this.params = params;
    this.tab = 'stdout';
    this.dir = '';
    this.tail = null;
    this.shownState = null;
    this.render();
  },

  unmount() {
    if (this.tail) this.tail.stop();
    this.tail = null;
  },

  crumbs() {
    return [['Tasks', '#/tasks'], [this.params.task, null]];
  },

  render() {
    const t = store.tasks.get(this.key);
    if (!t) {
      this.el.innerHTML = store.loaded
        ? `<h1>${esc(this.params.task)}</h1><div class="error">The cluster knows no task ${esc(this.params.task)} of framework ${esc(this.params.fw)}.</div>`
        : '<p class="muted">Loading…</p>';
      return;
    }
    this.el.innerHTML = `<h1>${esc(t.id)} <span id="task-state">${taskBadge(t.state)}</span></h1>
      <p class="sub">${esc(t.name)}</p>
      <div class="grid2">
        <div class="panel"><h3>Task</h3><dl class="kv" id="task-kv"></dl></div>
        <div class="panel"><h3>Status updates</h3><ul class="timeline" id="task-statuses"></ul></div>
      </div>
      <div class="tabs" id="tabs">
        <a data-tab="stdout">stdout</a><a data-tab="stderr">stderr</a><a data-tab="files">Files</a>
      </div>
      <div id="tab-body"></div>`;
    this.el.querySelector('#tabs').addEventListener('click', (e) => {
      const a = e.target.closest('[data-tab]');
      if (a) this.open(a.dataset.tab);
    });
    this.update();
    this.open(this.tab);
  },

  update() {
    const t = store.tasks.get(this.key);
    if (!t || !this.el.querySelector('#task-kv')) {
      this.render();
      return;
    }
    if (this.shownState !== t.state + t.statuses.length) {
      this.shownState = t.state + t.statuses.length;
      this.el.querySelector('#task-state').innerHTML = taskBadge(t.state);
      this.el.querySelector('#task-statuses').innerHTML = t.statuses.length
        ? t.statuses.map((s) => `<li><span class="muted" style="min-width:150px">${esc(time(s.ts))}</span>${taskBadge(s.state)}<span class="muted">${esc([s.reason, s.message].filter(Boolean).join(': '))}</span></li>`).join('')
        : '<li class="muted">No status update yet.</li>';
    }
    const res = Object.entries(t.resources).map(([k, v]) => `${k} ${k === 'mem' || k === 'disk' ? mb(v) : num(v)}`).join(', ');
    this.el.querySelector('#task-kv').innerHTML = `
      <dt>Framework</dt><dd><a href="#/tasks?framework=${encodeURIComponent(t.fw)}">${esc(fwName(t.fw))}</a> <span class="muted mono">${esc(t.fw)}</span></dd>
      <dt>Agent</dt><dd><a href="#/tasks?agent=${encodeURIComponent(t.agent)}">${esc(hostOf(t.agent))}</a> <span class="muted mono">${esc(t.agent)}</span></dd>
      <dt>Executor</dt><dd class="mono">${esc(t.executor)}</dd>
      <dt>Resources</dt><dd>${esc(res || '—')}</dd>
      <dt>Age</dt><dd>${esc(age(t.started))} <span class="muted">(since ${esc(time(t.started))})</span></dd>
      <dt>Sandbox</dt><dd class="mono">${esc(sandboxDir(t))}</dd>`;
  },

  // open shows a tab: a followed file (stdout, stderr, or a file picked
  // in the browser) or the file browser.
  open(tab, file) {
    const t = store.tasks.get(this.key);
    if (!t) return;
    if (this.tail) this.tail.stop();
    this.tail = null;
    this.tab = tab;
    for (const a of this.el.querySelectorAll('#tabs [data-tab]')) a.classList.toggle('active', a.dataset.tab === tab);
    const body = this.el.querySelector('#tab-body');
    body.onclick = null;
    if (tab === 'files') {
      this.browse(body, t);
      return;
    }
    const path = file || `${sandboxDir(t)}/${tab}`;
    body.innerHTML = `<div class="logbar"><span class="mono">${esc(path.slice(sandboxDir(t).length + 1))}</span><span id="log-status">connecting…</span></div>
      <pre class="log" id="log" data-file="${esc(tab)}"></pre>`;
    this.tail = new Tail(t, path, body.querySelector('#log'), body.querySelector('#log-status'));
  },

  async browse(body, t) {
    const root = sandboxDir(t);
    const dir = this.dir;
    body.innerHTML = '<p class="muted">Listing…</p>';
    let entries;
    try {
      entries = await getJSON(filesURL('browse', t.agent, { path: root + dir }));
    } catch (err) {
      if (this.tab === 'files') body.innerHTML = `<div class="error">${esc(err.message)}</div>`;
      return;
    }
    if (this.tab !== 'files') return;
    const parts = dir.split('/').filter(Boolean);
    const crumbs = [`<a data-dir="">sandbox</a>`, ...parts.map((p, i) => `<a data-dir="/${esc(parts.slice(0, i + 1).join('/'))}">${esc(p)}</a>`)].join(' / ');
    body.innerHTML = `<div class="logbar"><span class="mono">${crumbs}</span><span>${entries.length} entries</span></div>
      <table class="list files"><thead><tr><th>Name</th><th>Mode</th><th class="num">Size</th><th>Modified</th></tr></thead><tbody>
      ${entries.map((e) => {
        const name = e.path.slice(e.path.lastIndexOf('/') + 1);
        const isDir = e.mode.startsWith('d');
        return `<tr><td><a data-${isDir ? 'dir' : 'file'}="${esc(isDir ? dir + '/' + name : e.path)}">${esc(name)}${isDir ? '/' : ''}</a></td>
          <td class="mono">${esc(e.mode)}</td><td class="num">${isDir ? '—' : esc(e.size.toLocaleString())}</td><td>${esc(time(e.mtime))}</td></tr>`;
      }).join('') || '<tr><td class="empty" colspan="4">Empty directory.</td></tr>'}</tbody></table>`;
    body.onclick = (e) => {
      const a = e.target.closest('a[data-dir], a[data-file]');
      if (!a) return;
      e.preventDefault();
      if (a.dataset.file !== undefined) {
        this.open('file', a.dataset.file);
        return;
      }
      this.dir = a.dataset.dir;
      this.browse(body, t);
    };
  },
};
