// ListView is a filterable, paged table: only one page of rows is in the
// document at a time, so a list of 10,000 tasks renders as fast as 50.

import { esc, debounce } from './util.js';

export const PAGE_SIZE = 50;

// Filters are kept per list while the page is open, so that leaving a
// list and coming back finds it as it was.
const memory = new Map();

export class ListView {
  // opts: name, columns [{title, cls}], rows() -> array (sorted),
  // text(row) -> searchable string, html(row) -> '<tr>…</tr>',
  // selects [{name, label, options: [[value, text]], match(row, value)}],
  // placeholder, empty (text for an empty list), initial {selects}: values
  // that the link to the page sets.
  constructor(el, opts) {
    this.el = el;
    this.opts = opts;
    const saved = memory.get(opts.name) || { q: '', page: 0, selects: {} };
    this.state = { q: saved.q, page: saved.page, selects: { ...saved.selects } };
    if (opts.initial) {
      const changed = Object.entries(opts.initial.selects || {}).some(([k, v]) => (this.state.selects[k] || '') !== v);
      Object.assign(this.state.selects, opts.initial.selects || {});
      if (changed) this.state.page = 0;
    }
    this.mount();
  }

  mount() {
    const o = this.opts;
    const selects = (o.selects || []).map((s) => `<select data-select="${esc(s.name)}" aria-label="${esc(s.label)}">` +
      s.options.map(([v, t]) => `<option value="${esc(v)}"${this.state.selects[s.name] === v ? ' selected' : ''}>${esc(t)}</option>`).join('') +
      '</select>').join('');
    this.el.innerHTML = `
      <div class="toolbar">
        <input class="search" type="search" data-filter="${esc(o.name)}" placeholder="${esc(o.placeholder || 'Filter')}" value="${esc(this.state.q)}" autocomplete="off" spellcheck="false">
        ${selects}
        <span class="total"></span>
      </div>
      <table class="list" data-list="${esc(o.name)}">
        <thead><tr>${o.columns.map((c) => `<th class="${esc(c.cls || '')}">${esc(c.title)}</th>`).join('')}</tr></thead>
        <tbody></tbody>
      </table>
      <div class="pager">
        <span class="range"></span>
        <button type="button" data-page="prev" aria-label="previous page">‹ Prev</button>
        <button type="button" data-page="next" aria-label="next page">Next ›</button>
      </div>`;
    this.tbody = this.el.querySelector('tbody');
    this.totalEl = this.el.querySelector('.total');
    this.rangeEl = this.el.querySelector('.range');
    this.prev = this.el.querySelector('[data-page=prev]');
    this.next = this.el.querySelector('[data-page=next]');
    const refilter = debounce(() => {
      this.state.page = 0;
      this.update();
    }, 80);
    this.el.querySelector('.search').addEventListener('input', (e) => {
      this.state.q = e.target.value;
      refilter();
    });
    for (const sel of this.el.querySelectorAll('select[data-select]')) {
      sel.addEventListener('change', (e) => {
        this.state.selects[e.target.dataset.select] = e.target.value;
        this.state.page = 0;
        this.update();
      });
    }
    this.prev.addEventListener('click', () => { this.state.page--; this.update(); });
    this.next.addEventListener('click', () => { this.state.page++; this.update(); });
    this.tbody.addEventListener('click', (e) => {
      if (e.target.closest('a')) return;
      const tr = e.target.closest('tr[data-href]');
      if (tr) location.hash = tr.dataset.href;
    });
  }

  // filtered applies the filter box (every word must appear) and the
  // selects to the rows.
  // The rows' searchable texts are built once per rows() array (that
  // is, once per change of the store), not on every keystroke.
  filtered() {
    const o = this.opts;
    const all = o.rows();
    if (all !== this.textsOf) {
      this.textsOf = all;
      this.texts = all.map((r) => o.text(r).toLowerCase());
    }
    const words = this.state.q.toLowerCase().split(/\s+/).filter(Boolean);
    const selects = (o.selects || []).filter((s) => this.state.selects[s.name]);
    if (!words.length && !selects.length) return all;
    const out = [];
    for (let i = 0; i < all.length; i++) {
      const r = all[i];
      if (selects.every((s) => s.match(r, this.state.selects[s.name])) && words.every((w) => this.texts[i].includes(w))) out.push(r);
    }
    return out;
  }

  update() {
    const all = this.opts.rows().length;
    const rows = this.filtered();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    this.state.page = Math.min(Math.max(0, this.state.page), pages - 1);
    memory.set(this.opts.name, this.state);
    const from = this.state.page * PAGE_SIZE;
    const shown = rows.slice(from, from + PAGE_SIZE);
    this.tbody.innerHTML = shown.length ? shown.map(this.opts.html).join('')
      : `<tr><td class="empty" colspan="${this.opts.columns.length}">${esc(all ? 'Nothing matches the filter.' : this.opts.empty)}</td></tr>`;
    this.totalEl.textContent = rows.length === all ? `${all}` : `${rows.length} of ${all}`;
    this.rangeEl.textContent = rows.length ? `${from + 1}–${from + shown.length} of ${rows.length}` : '';
    this.prev.disabled = this.state.page === 0;
    this.next.disabled = this.state.page >= pages - 1;
  }
}
