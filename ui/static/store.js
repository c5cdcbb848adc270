// The cluster as the page knows it: built from the operator event
// stream's SUBSCRIBED (the whole state) and kept current by the events
// that follow it.

export const LIVE_STATES = new Set(['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING']);
export const SCALARS = ['cpus', 'mem', 'disk', 'gpus'];

export const store = {
  agents: new Map(), // agent id -> agent
  frameworks: new Map(), // framework id -> framework
  tasks: new Map(), // framework id + ' ' + task id -> task
  version: 0, // counts changes
  loaded: false,
};

const listeners = new Set();

// onChange registers fn, called after each batch of changes.
export function onChange(fn) {
  listeners.add(fn);
}

function changed() {
  store.version++;
  for (const fn of listeners) fn();
}

// scalars sums the scalar resources of a resource list by name.
export function scalars(resources) {
  const out = {};
  for (const r of resources || []) {
    if (r.type === 'SCALAR' && r.scalar) out[r.name] = (out[r.name] || 0) + r.scalar.value;
  }
  return out;
}

function attributeValue(a) {
  if (a.text) return a.text.value;
  if (a.scalar) return String(a.scalar.value);
  if (a.ranges) return (a.ranges.range || []).map((r) => `${r.begin}-${r.end}`).join(',');
  if (a.set) return (a.set.item || []).join(',');
  return '';
}

const seconds = (t) => (t && t.nanoseconds ? t.nanoseconds / 1e9 : 0);

function agentOf(a) {
  const info = a.agent_info || {};
  const pid = a.pid || '';
  const at = pid.indexOf('@');
  return {
    id: info.id ? info.id.value : '',
    hostname: info.hostname || '',
    address: at >= 0 ? pid.slice(at + 1) : `${info.hostname}:${info.port}`,
    active: !!a.active,
    version: a.version || '',
    total: scalars(a.total_resources || info.resources),
    attributes: (info.attributes || []).map((x) => ({ name: x.name, value: attributeValue(x) })),
    registered: seconds(a.reregistered_time) || seconds(a.registered_time),
  };
}

function frameworkOf(f, completed) {
  const info = f.framework_info || {};
  const roles = info.roles && info.roles.length ? info.roles : [info.role || '*'];
  return {
    id: info.id ? info.id.value : '',
    name: info.name || '',
    user: info.user || '',
    principal: info.principal || '',
    roles,
    active: !!f.active && !completed,
    connected: !!f.connected,
    completed,
    registered: seconds(f.registered_time),
  };
}

function statusOf(s) {
  return { state: s.state, ts: s.timestamp || 0, message: s.message || '', reason: s.reason || '', source: s.source || '' };
}

function taskOf(t, seen) {
  const statuses = (t.statuses || []).map(statusOf);
  return {
    key: t.framework_id.value + ' ' + t.task_id.value,
    id: t.task_id.value,
    name: t.name || '',
    fw: t.framework_id.value,
    agent: t.agent_id ? t.agent_id.value : '',
    executor: t.executor_id ? t.executor_id.value : t.task_id.value,
    state: t.state,
    resources: scalars(t.resources),
    statuses,
    // started is when the task was first heard of: its first status,
    // else when this page saw it launched.
    started: statuses.length ? statuses[0].ts : seen,
    updated: statuses.length ? statuses[statuses.length - 1].ts : seen,
  };
}

function load(st) {
  store.agents.clear();
  store.frameworks.clear();
  store.tasks.clear();
  const now = Date.now() / 1000;
  for (const a of (st.get_agents && st.get_agents.agents) || []) {
    const ag = agentOf(a);
    store.agents.set(ag.id, ag);
  }
  const fws = st.get_frameworks || {};
  for (const f of fws.frameworks || []) {
    const fw = frameworkOf(f, false);
    store.frameworks.set(fw.id, fw);
  }
  for (const f of fws.completed_frameworks || []) {
    const fw = frameworkOf(f, true);
    store.frameworks.set(fw.id, fw);
  }
  const ts = st.get_tasks || {};
  for (const list of [ts.tasks, ts.unreachable_tasks, ts.completed_tasks, ts.orphan_tasks]) {
    for (const t of list || []) {
      const task = taskOf(t, now);
      store.tasks.set(task.key, task);
    }
  }
  store.loaded = true;
}

// apply folds one event of the operator stream into the store.
export function apply(ev) {
  const now = Date.now() / 1000;
  switch (ev.type) {
    case 'SUBSCRIBED':
      load((ev.subscribed && ev.subscribed.get_state) || {});
      break;
    case 'TASK_ADDED': {
      const task = taskOf(ev.task_added.task, now);
      store.tasks.set(task.key, task);
      break;
    }
    case 'TASK_UPDATED': {
      const u = ev.task_updated;
      const key = u.framework_id.value + ' ' + u.status.task_id.value;
      const task = store.tasks.get(key);
      if (!task) return;
      task.state = u.state || u.status.state;
      const s = statusOf(u.status);
      if (!task.statuses.length || task.statuses[task.statuses.length - 1].ts !== s.ts) task.statuses.push(s);
      task.updated = s.ts || now;
      if (u.status.agent_id && !task.agent) task.agent = u.status.agent_id.value;
      break;
    }
    case 'AGENT_ADDED': {
      const ag = agentOf(ev.agent_added.agent);
      store.agents.set(ag.id, ag);
      break;
    }
    case 'AGENT_REMOVED': {
      const ag = store.agents.get(ev.agent_removed.agent_id.value);
      if (ag) ag.active = false;
      break;
    }
    case 'FRAMEWORK_ADDED':
    case 'FRAMEWORK_UPDATED': {
      const fw = frameworkOf((ev.framework_added || ev.framework_updated).framework, false);
      store.frameworks.set(fw.id, fw);
      break;
    }
    case 'FRAMEWORK_REMOVED': {
      const info = ev.framework_removed.framework_info || {};
      const fw = info.id && store.frameworks.get(info.id.value);
      if (fw) {
        fw.completed = true;
        fw.active = false;
      }
      break;
    }
    default:
      return; // HEARTBEAT, and event types this page does not show
  }
  changed();
}

let cache = { version: -1 };

// derived returns what the lists show beside the raw objects, computed
// once per change: resources the live tasks hold per agent and per
// framework, task counts, and the cluster's totals.
export function derived() {
  if (cache.version === store.version) return cache;
  const agentUsed = new Map();
  const fwUsed = new Map();
  const agentTasks = new Map();
  const fwTasks = new Map(); // id -> { live, total }
  const byState = {};
  const add = (m, id, res) => {
    let u = m.get(id);
    if (!u) m.set(id, (u = {}));
    for (const k in res) u[k] = (u[k] || 0) + res[k];
  };
  for (const t of store.tasks.values()) {
    byState[t.state] = (byState[t.state] || 0) + 1;
    let c = fwTasks.get(t.fw);
    if (!c) fwTasks.set(t.fw, (c = { live: 0, total: 0 }));
    c.total++;
    if (!LIVE_STATES.has(t.state)) continue;
    c.live++;
    agentTasks.set(t.agent, (agentTasks.get(t.agent) || 0) + 1);
    add(agentUsed, t.agent, t.resources);
    add(fwUsed, t.fw, t.resources);
  }
  const total = {};
  for (const a of store.agents.values()) {
    if (!a.active) continue;
    for (const k in a.total) total[k] = (total[k] || 0) + a.total[k];
  }
  cache = { version: store.version, agentUsed, fwUsed, agentTasks, fwTasks, byState, total };
  return cache;
}

// dominantShare is a framework's largest share of any scalar resource
// of the active agents, and the name of that resource.
export function dominantShare(fwId) {
  const d = derived();
  const used = d.fwUsed.get(fwId) || {};
  let best = { share: 0, resource: '' };
  for (const k of SCALARS) {
    if (!d.total[k] || !used[k]) continue;
    const share = used[k] / d.total[k];
    if (share > best.share) best = { share, resource: k };
  }
  return best;
}
