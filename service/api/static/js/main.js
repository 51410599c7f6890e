// The page: a hash router over the report list, the batch view and one report. One progress channel
// for the whole page: the list is fetched again every POLL ms while any report is unfinished, however
// many there are (one stream per report used to exhaust the browser's connections to the server).

import {api, download} from './api.js';
import {fill, h, notify} from './dom.js';
import {batchTable, bulkBar, filterBar, reportsTable, uploadZone, visible} from './lists.js';
import {ReportView} from './report.js';

const POLL = 1000;
const app = document.getElementById('app');
const state = {
  layout: null, view: null, zone: null, list: null, filters: null, reports: [], bodies: [], timer: null,
  listView: {filters: {status: '', errors: '', warnings: '', agency: '', year: ''},
    sort: {key: 'created', dir: -1}, selected: new Set()},
};

function currentRoute() {
  const [name = '', id] = location.hash.replace(/^#\/?/, '').split('/');
  return {name, id: id && decodeURIComponent(id)};
}

const onList = () => ['', 'batch'].includes(currentRoute().name);

/** Fetch the list, draw it, and fetch again while anything is unfinished. */
async function refresh() {
  clearTimeout(state.timer);
  state.timer = null;
  if (!onList()) return;
  const batch = currentRoute().name === 'batch';
  const [list, bodies] = await Promise.all([api('/api/reports'), batch ? api('/api/agencies') : null]);
  if (!onList()) return;
  state.reports = list.reports;
  state.bodies = bodies?.agencies ?? [];
  draw();
  if (state.reports.some((r) => r.status === 'queued' || r.status === 'running')) again(POLL);
}

/** The next look at the list; one that fails (the server restarting) is said and tried again later. */
function again(delay) {
  state.timer = setTimeout(() => refresh().catch((error) => {
    notify(`${error.message}，稍后自动重试`, 'error');
    again(POLL * 5);
  }), delay);
}

const actions = {
  select(ids, on) {
    for (const id of ids) state.listView.selected[on ? 'add' : 'delete'](id);
    draw();
  },
  async retry(id) {
    await act(() => api(`/api/reports/${encodeURIComponent(id)}/retry`, 'POST'), '已重新排队');
  },
  async remove(id) {
    state.listView.selected.delete(id);
    await act(() => api(`/api/reports/${encodeURIComponent(id)}`, 'DELETE'), '已删除');
  },
  async apart(name) {
    await act(() => api('/api/agencies/apart', 'PUT', {name}), `已把“${name}”单独列出，跨年度检查已重新进行`);
  },
  async join(name) {
    await act(() => api(`/api/agencies/apart?name=${encodeURIComponent(name)}`, 'DELETE'), `已重新合并“${name}”`);
  },
};

async function act(call, message) {
  try {
    await call();
    notify(message);
  } catch (error) {
    notify(error.message, 'error');
  }
  await refresh();
}

async function exportSelected(format) {
  const ids = state.reports.map((r) => r.id).filter((id) => state.listView.selected.has(id));
  try {
    await download('/api/exports', `reports.${format}`, {ids, format});
  } catch (error) {
    notify(error.message, 'error');
  }
}

/** The list or the batch grid from the last fetch, with the filters, sort, selection and scroll kept. */
function draw() {
  const batch = currentRoute().name === 'batch';
  const view = state.listView;
  const known = new Set(state.reports.map((r) => r.id));
  for (const id of view.selected) if (!known.has(id)) view.selected.delete(id);
  const shown = visible(state.reports, view);
  const total = state.reports.length;
  state.filters.setYears([...new Set(state.reports.map((r) => r.year).filter(Boolean))].sort());
  const {title, bulk, body} = state.list;
  const scrolled = body.querySelector('.table-scroll');
  const at = scrolled && [scrolled.scrollLeft, scrolled.scrollTop];
  fill(title, `${batch ? '按机关和年度' : '报告列表'}（${shown.length === total ? total : `${shown.length}/${total}`}）`);
  fill(bulk, bulkBar(view, exportSelected));
  fill(body, batch ? batchTable(shown, state.bodies, actions) : reportsTable(shown, view, actions, draw));
  const again = body.querySelector('.table-scroll');  // a person scrolling the grid keeps their place
  if (at && again) [again.scrollLeft, again.scrollTop] = at;
}

/** The list panel: its title, the filters (made once: typing is never interrupted by a refresh),
 *  the selection's export, and the table or grid. */
async function showList() {
  state.zone ??= uploadZone(() => refresh().catch(showError));
  state.filters = filterBar(state.listView, draw);
  state.list = {title: h('h2', {}), bulk: h('div', {class: 'bulk-box'}), body: h('div', {})};
  fill(app, state.zone, h('section', {class: 'panel list-panel'}, state.list.title,
    h('div', {class: 'toolbar'}, state.filters, state.list.bulk), state.list.body));
  await refresh();
}

function showError(error) {
  fill(app, h('p', {class: 'error-box'}, error.message ?? String(error)));
}

async function route() {
  state.view?.close();
  state.view = null;
  const {name, id} = currentRoute();
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle('current', link.dataset.nav === (name === 'batch' ? 'batch' : 'list'));
  }
  try {
    if (name === 'report' && id) {
      clearTimeout(state.timer);
      state.view = new ReportView(app, state.layout, id);
      await state.view.load();
    } else {
      await showList();
    }
  } catch (error) {
    showError(error);
  }
}

async function start() {
  try {
    state.layout = await api('/api/registry');
  } catch (error) {
    showError(error);
    return;
  }
  window.addEventListener('hashchange', route);
  await route();
}

start();
