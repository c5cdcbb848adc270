// The list pages: agents, frameworks and tasks.

import { store, derived, dominantShare, LIVE_STATES } from './store.js';
import { ListView } from './list.js';
import { esc, age, cellMeter, meter, pct, num, mb, badge, taskBadge, stateName } from './util.js';

function header(title, sub) {
  return `<h1>${esc(title)}</h1><p class="sub">${sub}</p><div class="list-host"></div>`;
}

// hostOf names an agent for people: its hostname, else its id.
export function hostOf(agentId) {
  const a = store.agents.get(agentId);
  return a ? a.hostname : agentId;
}

export function fwName(id) {
  const f = store.frameworks.get(id);
  return f ? f.name || id : id;
}

export const agentsPage = {
  title: 'Agents',
  mount(el) {
    el.innerHTML = header('Agents', 'The machines that run tasks, with what they offer and what their tasks use.');
    let sorted = null;
    let version = -1;
    this.list = new ListView(el.querySelector('.list-host'), {
      name: 'agents',
      placeholder: 'Filter by hostname, id, address or attribute',
      empty: 'No agent has registered yet.',
      columns: [{ title: 'Agent' }, { title: 'State' }, { title: 'CPUs' }, { title: 'Memory' }, { title: 'Disk' },
        { title: 'Tasks', cls: 'num' }, { title: 'Attributes' }, { title: 'Maintenance' }, { title: 'Drain' }, { title: 'Registered' }],
      selects: [{ name: 'state', label: 'agent state', options: [['', 'All states'], ['active', 'Active'], ['inactive', 'Inactive']],
        match: (a, v) => (v === 'active') === a.active }],
      rows: () => {
        if (version !== store.version) {
          version = store.version;
          sorted = [...store.agents.values()].sort((a, b) => (b.active - a.active) || a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
        }
        return sorted;
      },
      text: (a) => `${a.hostname} ${a.id} ${a.address} ${a.attributes.map((x) => x.name + ':' + x.value).join(' ')} ${a.active ? 'active' : 'inactive'}`,
      html: (a) => {
        const d = derived();
        const used = d.agentUsed.get(a.id) || {};
        return `<tr class="link${a.active ? '' : ' dim'}" data-href="#/tasks?agent=${encodeURIComponent(a.id)}" data-agent="${esc(a.id)}">
          <td class="id"><div class="primary">${esc(a.hostname)} <span class="muted small mono">${esc(a.address)}</span></div><div class="secondary" title="${esc(a.id)}">${esc(a.id)}</div></td>
          <td>${a.active ? badge('active', 'ok') : badge('inactive', 'idle')}</td>
          <td>${cellMeter('cpus', used.cpus || 0, a.total.cpus)}</td>
          <td>${cellMeter('mem', used.mem || 0, a.total.mem)}</td>
          <td>${cellMeter('disk', used.disk || 0, a.total.disk)}</td>
          <td class="num">${d.agentTasks.get(a.id) || 0}</td>
          <td>${a.attributes.map((x) => `<span class="chip">${esc(x.name)}:${esc(x.value)}</span>`).join('') || '<span class="muted">—</span>'}</td>
          <td class="muted">—</td><td class="muted">—</td>
          <td title="${esc(new Date(a.registered * 1000).toISOString())}">${esc(age(a.registered))}</td></tr>`;
      },
    });
  },
  update() { this.list.update(); },
};

export const frameworksPage = {
  title: 'Frameworks',
  mount(el) {
    el.innerHTML = header('Frameworks', 'The schedulers subscribed to the cluster, their roles, share of the cluster and tasks.');
    let sorted = null;
    let version = -1;
    this.list = new ListView(el.querySelector('.list-host'), {
      name: 'frameworks',
      placeholder: 'Filter by name, id, role or user',
      empty: 'No framework has subscribed yet.',
      columns: [{ title: 'Framework' }, { title: 'State' }, { title: 'Roles' }, { title: 'User' }, { title: 'Dominant share' },
        { title: 'CPUs', cls: 'num' }, { title: 'Memory', cls: 'num' }, { title: 'Tasks', cls: 'num' }, { title: 'Registered' }],
      selects: [{ name: 'state', label: 'framework state', options: [['', 'All'], ['active', 'Active'], ['inactive', 'Disconnected'], ['completed', 'Completed']],
        match: (f, v) => fwState(f) === v }],
      rows: () => {
        if (version !== store.version) {
          version = store.version;
          const rank = { active: 0, inactive: 1, completed: 2 };
          sorted = [...store.frameworks.values()].sort((a, b) => (rank[fwState(a)] - rank[fwState(b)]) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
        }
        return sorted;
      },
      text: (f) => `${f.name} ${f.id} ${f.roles.join(' ')} ${f.user} ${f.principal} ${fwState(f)}`,
      html: (f) => {
        const d = derived();
        const used = d.fwUsed.get(f.id) || {};
        const c = d.fwTasks.get(f.id) || { live: 0, total: 0 };
        const ds = dominantShare(f.id);
        const st = fwState(f);
        const stBadge = st === 'active' ? badge('active', 'ok') : st === 'inactive' ? badge('disconnected', 'warn') : badge('completed', 'idle');
        return `<tr class="link${st === 'completed' ? ' dim' : ''}" data-href="#/tasks?framework=${encodeURIComponent(f.id)}" data-framework="${esc(f.id)}">
          <td class="id"><div class="primary">${esc(f.name || '(unnamed)')}</div><div class="secondary">${esc(f.id)}</div></td>
          <td>${stBadge}</td>
          <td>${f.roles.map((r) => `<span class="chip">${esc(r)}</span>`).join('')}</td>
          <td>${esc(f.user)}</td>
          <td><div class="cell-meter">${meter(ds.share, 1)}<span class="n">${pct(ds.share)}${ds.resource ? ' ' + esc(ds.resource) : ''}</span></div></td>
          <td class="num">${num(used.cpus || 0)}</td><td class="num">${mb(used.mem || 0)}</td>
          <td class="num"><b>${c.live}</b> <span class="muted">/ ${c.total}</span></td>
          <td>${esc(age(f.registered))}</td></tr>`;
      },
    });
  },
  update() { this.list.update(); },
};

function fwState(f) {
  return f.completed ? 'completed' : f.active ? 'active' : 'inactive';
}

const STATE_OPTIONS = [['', 'All states'], ['live', 'Live (staging to killing)'], ['TASK_STAGING', 'Staging'],
  ['TASK_STARTING', 'Starting'], ['TASK_RUNNING', 'Running'], ['TASK_KILLING', 'Killing'], ['TASK_FINISHED', 'Finished'],
  ['TASK_FAILED', 'Failed'], ['TASK_KILLED', 'Killed'], ['TASK_LOST', 'Lost'], ['TASK_UNREACHABLE', 'Unreachable'],
  ['TASK_ERROR', 'Error'], ['TASK_DROPPED', 'Dropped'], ['TASK_GONE', 'Gone']];

// taskHref is the task's sandbox page.
export function taskHref(t) {
  return `#/tasks/${encodeURIComponent(t.fw)}/${encodeURIComponent(t.id)}`;
}

export const tasksPage = {
  title: 'Tasks',
  mount(el, params) {
    el.innerHTML = header('Tasks', 'Every task the cluster knows, newest first. Select one for its sandbox and live output.');
    let sorted = null;
    let version = -1;
    // The framework and agent come from the link that led here (none
    // from the menu); the words and the state are kept from the last visit
    // unless the link sets the state.
    const initial = { selects: { framework: params.framework || '', agent: params.agent || '' } };
    if (params.state !== undefined) initial.selects.state = params.state;
    const fwOptions = [['', 'All frameworks'], ...[...store.frameworks.values()].map((f) => [f.id, `${f.name} (${f.id.slice(0, 18)}…)`])];
    const agentOptions = [['', 'All agents'], ...[...store.agents.values()].map((a) => [a.id, `${a.hostname} (${a.id.slice(-8)})`])];
    if (params.framework && !store.frameworks.has(params.framework)) fwOptions.push([params.framework, params.framework]);
    if (params.agent && !store.agents.has(params.agent)) agentOptions.push([params.agent, params.agent]);
    this.list = new ListView(el.querySelector('.list-host'), {
      name: 'tasks',
      initial,
      placeholder: 'Filter by task id, name, state, framework or agent',
      empty: 'No task has been launched yet.',
      columns: [{ title: 'Task' }, { title: 'State' }, { title: 'Framework' }, { title: 'Agent' }, { title: 'CPUs', cls: 'num' },
        { title: 'Memory', cls: 'num' }, { title: 'Age', cls: 'num' }, { title: 'Sandbox' }],
      selects: [
        { name: 'state', label: 'task state', options: STATE_OPTIONS, match: (t, v) => (v === 'live' ? LIVE_STATES.has(t.state) : t.state === v) },
        { name: 'framework', label: 'framework', options: fwOptions, match: (t, v) => t.fw === v },
        { name: 'agent', label: 'agent', options: agentOptions, match: (t, v) => t.agent === v },
      ],
      rows: () => {
        if (version !== store.version) {
          version = store.version;
          sorted = [...store.tasks.values()].sort((a, b) => (b.started - a.started) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        }
        return sorted;
      },
      text: (t) => `${t.id} ${t.name} ${stateName(t.state)} ${fwName(t.fw)} ${t.fw} ${hostOf(t.agent)} ${t.agent}`,
      html: (t) => `<tr class="link" data-href="${taskHref(t)}" data-task="${esc(t.id)}">
          <td class="id"><div class="primary">${esc(t.id)}</div><div class="secondary">${esc(t.name)}</div></td>
          <td>${taskBadge(t.state)}</td>
          <td>${esc(fwName(t.fw))}</td>
          <td>${esc(hostOf(t.agent))}</td>
          <td class="num">${num(t.resources.cpus || 0)}</td><td class="num">${mb(t.resources.mem || 0)}</td>
          <td class="num">${esc(age(t.started))}</td>
          <td><a href="${taskHref(t)}">sandbox</a></td></tr>`,
    });
  },
  update() { this.list.update(); },
};
