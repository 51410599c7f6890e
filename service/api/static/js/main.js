// The page: a hash router over the report list, the batch view and one report.

import {api, follow} from './api.js';
import {fill, h} from './dom.js';
import {batchTable, reportsTable, updateRow, uploadZone} from './lists.js';
import {ReportView} from './report.js';

const app = document.getElementById('app');
const state = {layout: null, view: null, following: new Set(), zone: null, list: null, refreshTimer: null};

function currentRoute() {
  const [name = '', id] = location.hash.replace(/^#\/?/, '').split('/');
  return {name, id: id && decodeURIComponent(id)};
}

/** Follow each unfinished report's progress; refresh the list when one finishes. */
function followAll(ids) {
  for (const id of ids) {
    if (state.following.has(id)) continue;
    state.following.add(id);
    follow(id, (s) => updateRow(app, id, s))
      .catch(() => {})
      .finally(() => {
        state.following.delete(id);
        scheduleRefresh();
      });
  }
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => {
    const {name} = currentRoute();
    if (name === '' || name === 'batch') renderList(name).catch(showError);
  }, 250);
}

async function renderList(name) {
  const {reports} = await api('/api/reports');
  const batch = name === 'batch';
  fill(state.list, h('h2', {}, batch ? '按机关和年度' : `报告列表（${reports.length}）`),
    batch ? batchTable(reports) : reportsTable(reports));
  followAll(reports.filter((r) => r.status === 'queued' || r.status === 'running').map((r) => r.id));
}

async function showList(name) {
  state.zone ??= uploadZone((ids) => {
    followAll(ids);
    scheduleRefresh();
  });
  state.list = h('section', {class: 'panel list-panel'});
  fill(app, state.zone, state.list);
  await renderList(name);
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
      state.view = new ReportView(app, state.layout, id);
      await state.view.load();
    } else {
      await showList(name === 'batch' ? 'batch' : '');
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
