// Formatting helpers shared by the pages.

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

// esc makes any value safe to put in HTML text or a quoted attribute.
export function esc(v) {
  return String(v === undefined || v === null ? '' : v).replace(/[&<>"']/g, (c) => ESC[c]);
}

// num prints a resource amount without noise: 0.1, 2, 1.25.
export function num(v) {
  if (!v) return '0';
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
}

// mb prints an amount of megabytes in the largest fitting unit.
export function mb(v) {
  if (!v) return '0 MB';
  if (v >= 1024 * 1024) return `${num(v / 1024 / 1024)} TB`;
  if (v >= 1024) return `${num(v / 1024)} GB`;
  return `${num(v)} MB`;
}

// amount prints an amount of resource name.
export function amount(name, v) {
  return name === 'mem' || name === 'disk' ? mb(v) : num(v);
}

// pct prints a fraction as a percentage.
export function pct(f) {
  if (!isFinite(f) || f <= 0) return '0%';
  if (f < 0.001) return '<0.1%';
  return `${Math.round(f * 1000) / 10}%`;
}

// age prints how long ago a unix time (seconds) was: 4s, 3m, 2h 5m, 6d.
export function age(ts, now = Date.now() / 1000) {
  if (!ts) return '—';
  let s = Math.max(0, Math.floor(now - ts));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

// time prints a unix time (seconds) as local date and time.
export function time(ts) {
  if (!ts) return '—';
  const d = new Date(ts * 1000);
  return d.toLocaleString(undefined, { hour12: false });
}

const STATE_CLASS = {
  TASK_RUNNING: 'run', TASK_FINISHED: 'ok', TASK_STAGING: 'warn', TASK_STARTING: 'warn', TASK_KILLING: 'warn',
  TASK_UNREACHABLE: 'warn', TASK_FAILED: 'bad', TASK_ERROR: 'bad', TASK_LOST: 'bad', TASK_DROPPED: 'bad',
  TASK_GONE: 'bad', TASK_GONE_BY_OPERATOR: 'bad', TASK_KILLED: 'idle', TASK_UNKNOWN: 'idle',
};

export const STATE_COLORS = { run: '#1563ff', ok: '#2eb039', warn: '#e0a100', bad: '#c73445', idle: '#a3acb9' };

export function stateClass(state) {
  return STATE_CLASS[state] || 'idle';
}

// stateName is a task state for people: TASK_RUNNING -> running.
export function stateName(state) {
  return String(state || '').replace(/^TASK_/, '').toLowerCase().replace(/_/g, ' ');
}

export function taskBadge(state) {
  return `<span class="badge ${stateClass(state)}" data-state="${esc(state)}">${esc(stateName(state))}</span>`;
}

export function badge(text, cls) {
  return `<span class="badge ${cls}">${esc(text)}</span>`;
}

// meter draws used of total as a bar; warm past 80%, red past 95%.
export function meter(used, total) {
  const f = total > 0 ? Math.min(1, used / total) : 0;
  const cls = f > 0.95 ? 'meter full' : f > 0.8 ? 'meter hot' : 'meter';
  return `<div class="${cls}" title="${pct(f)}"><span style="width:${(f * 100).toFixed(1)}%"></span></div>`;
}

// cellMeter is a meter with its numbers, for a table cell.
export function cellMeter(name, used, total) {
  if (!total) return '<span class="muted">—</span>';
  return `<div class="cell-meter">${meter(used, total)}<span class="n">${amount(name, used)} / ${amount(name, total)}</span></div>`;
}

// debounce calls fn once calls have stopped for ms.
export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}
