// The overview page: the servers and their raft roles, the cluster's
// resources in use (now and over the time this page has been open), and
// its tasks by state.

import { store, derived } from './store.js';
import { esc, amount, pct, meter, badge, STATE_COLORS, stateClass, stateName, age } from './util.js';

// The samples of /metrics/snapshot this page has taken (app.js polls).
export const samples = [];
export const MAX_SAMPLES = 180;
export const cluster = { metrics: null, servers: null, serversError: '', metricsError: '' };

export function addSample(m, now = Date.now()) {
  cluster.metrics = m;
  samples.push({
    t: now,
    cpus: m['master/cpus_percent'] || 0,
    mem: m['master/mem_percent'] || 0,
    disk: m['master/disk_percent'] || 0,
    running: m['master/tasks_running'] || 0,
  });
  if (samples.length > MAX_SAMPLES) samples.splice(0, samples.length - MAX_SAMPLES);
}

function card(label, value, detail, attr) {
  return `<div class="card"${attr || ''}><div class="label">${esc(label)}</div><div class="value">${value}</div><div class="detail">${detail}</div></div>`;
}

function roleBadge(s) {
  if (!s.raft_state) return `<span title="${esc(s.reason || '')}">${badge('unreachable', 'bad')}</span>`;
  const st = s.raft_state;
  const cls = st === 'Leader' ? 'run' : st === 'Follower' ? 'ok' : st === 'Candidate' ? 'warn' : 'bad';
  return badge(st.toLowerCase(), cls);
}

// chart draws series (each {values, color, label}) over the samples as
// lines in an SVG; max is the top of the scale.
function chart(series, max, unit) {
  const W = 600, H = 140, n = samples.length;
  if (n < 2) return '<p class="muted small">Collecting samples…</p>';
  const x = (i) => ((i / (n - 1)) * W).toFixed(1);
  const y = (v) => (H - (Math.min(v, max) / max) * (H - 8) - 2).toFixed(1);
  const grid = [0.25, 0.5, 0.75].map((f) => `<line class="grid" x1="0" x2="${W}" y1="${y(max * f)}" y2="${y(max * f)}" vector-effect="non-scaling-stroke"/>`).join('');
  const lines = series.map((s) => {
    const pts = s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ');
    return `<polyline fill="none" stroke="${s.color}" stroke-width="2" vector-effect="non-scaling-stroke" points="${pts}"/>`;
  }).join('');
  const secs = Math.round((samples[n - 1].t - samples[0].t) / 1000);
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="${esc(series.map((s) => s.label).join(', '))} over time">${grid}${lines}</svg>
    <div class="legend">${series.map((s) => `<span><i style="background:${s.color}"></i>${esc(s.label)}</span>`).join('')}
    <span style="margin-left:auto">last ${esc(age(Date.now() / 1000 - secs))} · top ${esc(unit(max))}</span></div>`;
}

export const overviewPage = {
  title: 'Overview',
  mount(el) {
    el.innerHTML = `<h1>Cluster overview</h1><p class="sub">Leader, servers, capacity in use and tasks, kept live.</p>
      <div class="cards" id="ov-cards"></div>
      <div class="grid2" style="margin-top:14px">
        <div class="panel"><h3>Servers</h3><div id="ov-servers"></div></div>
        <div class="panel"><h3>Tasks by state</h3><div id="ov-states"></div></div>
      </div>
      <div class="grid2" style="margin-top:14px">
        <div class="panel"><h3>Resources in use</h3><div id="ov-res"></div></div>
        <div class="panel"><h3>Use over time</h3><div id="ov-chart"></div><div id="ov-chart2" style="margin-top:12px"></div></div>
      </div>`;
  },
  update() {
    const d = derived();
    const m = cluster.metrics || {};
    const agents = [...store.agents.values()];
    const fws = [...store.frameworks.values()];
    const running = d.byState.TASK_RUNNING || 0;
    const servers = cluster.servers ? cluster.servers.servers || [] : [];
    const healthy = servers.filter((s) => s.healthy).length;
    const leader = cluster.servers ? cluster.servers.leader : '';
    document.getElementById('ov-cards').innerHTML =
      card('Leader', `<span class="mono" style="font-size:17px">${esc(leader || 'none')}</span>`, leader ? 'elected' : 'no quorum, or an election is under way', ' data-card="leader"') +
      card('Servers', `${healthy}<span class="muted" style="font-size:16px"> / ${servers.length}</span>`, 'healthy / in the raft configuration', ' data-card="servers"') +
      card('Agents', `${agents.filter((a) => a.active).length}`, `${agents.filter((a) => !a.active).length} inactive`, ' data-card="agents"') +
      card('Frameworks', `${fws.filter((f) => f.active).length}`, `${fws.filter((f) => !f.active && !f.completed).length} disconnected · ${fws.filter((f) => f.completed).length} completed`, ' data-card="frameworks"') +
      card('Tasks running', `${running}`, `${store.tasks.size} known in all`, ' data-card="tasks"');

    document.getElementById('ov-servers').innerHTML = cluster.serversError && !servers.length
      ? `<div class="error">${esc(cluster.serversError)}</div>`
      : `<table class="list" data-list="servers"><thead><tr><th>Server</th><th>Raft role</th><th>Voter</th><th>Health</th></tr></thead><tbody>` +
        servers.map((s) => `<tr data-server="${esc(s.http_addr)}"><td class="id"><div class="primary mono">${esc(s.http_addr || s.address)}${s.self ? ' <span class="muted small">(this page)</span>' : ''}</div><div class="secondary">${esc(s.id)}</div></td>
          <td>${roleBadge(s)}</td><td>${esc(s.suffrage === 'Voter' ? 'yes' : 'no')}</td>
          <td>${s.healthy ? badge('healthy', 'ok') : `<span title="${esc(s.reason)}">${badge('unhealthy', 'bad')}</span>`}</td></tr>`).join('') +
        '</tbody></table>';

    const res = ['cpus', 'mem', 'disk', 'gpus'].filter((k) => k !== 'gpus' || m['master/gpus_total'] > 0);
    document.getElementById('ov-res').innerHTML = cluster.metricsError && !cluster.metrics
      ? `<div class="error">${esc(cluster.metricsError)}</div>`
      : res.map((k) => {
        const used = m[`master/${k}_used`] || 0, total = m[`master/${k}_total`] || 0;
        return `<div class="res-row" data-resource="${k}"><span class="name">${esc(k)}</span>${meter(used, total)}<span class="nums">${esc(amount(k, used))} / ${esc(amount(k, total))} · ${pct(total ? used / total : 0)}</span></div>`;
      }).join('');

    const states = Object.entries(d.byState).sort((a, b) => b[1] - a[1]);
    const total = store.tasks.size;
    document.getElementById('ov-states').innerHTML = total === 0 ? '<p class="muted">No task has been launched yet.</p>'
      : `<div class="statebar">${states.map(([s, c]) => `<span style="width:${(c / total) * 100}%;background:${STATE_COLORS[stateClass(s)]}" title="${esc(stateName(s))}: ${c}"></span>`).join('')}</div>
        <div class="statelegend">${states.map(([s, c]) => `<a href="#/tasks?state=${encodeURIComponent(s)}"><span style="color:${STATE_COLORS[stateClass(s)]}">●</span> ${esc(stateName(s))} <b>${c}</b></a>`).join('')}</div>`;

    document.getElementById('ov-chart').innerHTML = chart([
      { values: samples.map((s) => s.cpus * 100), color: '#1563ff', label: 'cpus %' },
      { values: samples.map((s) => s.mem * 100), color: '#2eb039', label: 'mem %' },
      { values: samples.map((s) => s.disk * 100), color: '#e0a100', label: 'disk %' },
    ], 100, (v) => `${v}%`);
    const maxRun = Math.max(4, ...samples.map((s) => s.running));
    document.getElementById('ov-chart2').innerHTML = chart([{ values: samples.map((s) => s.running), color: '#7b42bc', label: 'tasks running' }],
      Math.ceil(maxRun * 1.15), (v) => String(v));
  },
};
