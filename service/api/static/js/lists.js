// The upload zone with each file's outcome, the auditor's list (filter, sort, select, export, delete,
// retry) and the batch view across agencies and years.

import {uploadFiles} from './api.js';
import {countBadges, formatTime, h, notify, readingLabel, statusView} from './dom.js';

const reportHref = (id) => `#/report/${encodeURIComponent(id)}`;
const OUTCOME = {accepted: '已接收', duplicate: '已存在', rejected: '未接收', skipped: '已跳过'};

function outcomeItem(file) {
  const name = file.archive ? `${file.archive} › ${file.filename}` : file.filename;
  return h('li', {class: `outcome ${file.outcome}`},
    h('span', {class: 'tag'}, OUTCOME[file.outcome]), h('span', {class: 'name'}, name),
    file.id && file.outcome === 'duplicate' ? h('a', {href: reportHref(file.id)}, '查看已有报告') : null,
    file.reason && file.outcome !== 'duplicate' ? h('span', {class: 'reason'}, file.reason) : null);
}

/** What became of each file of an upload: the good ones accepted, the others with their reason. */
function outcomeList(files) {
  const counts = Object.keys(OUTCOME).map((k) => [k, files.filter((f) => f.outcome === k).length]).filter(([, n]) => n);
  const shown = files.filter((f) => f.outcome !== 'accepted');
  return h('div', {class: 'upload-outcomes'},
    h('p', {}, counts.map(([k, n]) => `${OUTCOME[k]} ${n} 个`).join('，')),
    shown.length ? h('ul', {}, shown.map(outcomeItem)) : null);
}

/** Drag-and-drop or pick files (or a .zip); shows upload progress and each file's outcome. */
export function uploadZone(onUploaded) {
  const input = h('input', {type: 'file', multiple: true, hidden: true, 'aria-label': '选择报告文件'});
  const bar = h('progress', {max: 100, value: 0});
  const status = h('span', {class: 'upload-status'});
  const progress = h('div', {class: 'upload-progress', hidden: true}, bar, status);
  const outcomes = h('div', {class: 'outcomes-box'});
  const zone = h('div', {class: 'dropzone', tabindex: 0, role: 'button', 'aria-label': '上传报告'},
    h('p', {class: 'drop-title'}, '将报告文件或 .zip 压缩包拖到此处，或', h('span', {class: 'pick'}, '选择文件')),
    h('p', {class: 'hint'}, '支持网页（HTML）、Word（DOCX）、PDF、扫描件和照片、文本文件；可一次上传多个文件或 .zip 压缩包，有问题的文件不影响其他文件。'),
    progress, input);

  async function send(files) {
    if (!files.length) return;
    progress.hidden = false;
    progress.classList.remove('failed');
    outcomes.replaceChildren();
    bar.value = 0;
    status.textContent = `正在上传 ${files.length} 个文件…`;
    try {
      const answer = await uploadFiles(files, (share) => {
        bar.value = Math.round(share * 100);
        status.textContent = `正在上传 ${files.length} 个文件… ${bar.value}%`;
      });
      bar.value = 100;
      const fresh = answer.files.filter((f) => f.outcome === 'accepted').length;
      status.textContent = fresh ? `已提交 ${fresh} 份新报告，正在后台处理` : '没有新的报告';
      outcomes.replaceChildren(outcomeList(answer.files));
      onUploaded(answer.ids);
    } catch (error) {
      progress.classList.add('failed');
      bar.value = 0;
      status.textContent = `上传失败：${error.message}`;
      notify(error.message, 'error');
    }
  }

  input.addEventListener('change', () => {
    send([...input.files]);
    input.value = '';
  });
  zone.addEventListener('click', (e) => e.target !== input && input.click());
  zone.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && input.click());
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    send([...e.dataTransfer.files]);
  });
  return h('div', {class: 'upload'}, zone, outcomes);
}

// ------------------------------------------------------------------ filter and sort
const unfinished = (r) => r.status === 'queued' || r.status === 'running';
const STATES = {
  '': ['全部状态', () => true],
  complete: ['完整', (r) => r.reading === 'complete'],
  partial: ['部分读出', (r) => r.reading === 'partial'],
  none: ['未读出表格', (r) => r.reading === 'none'],
  processing: ['处理中', unfinished],
  failed: ['失败', (r) => r.status === 'failed'],
};
const COUNTS = [['', '不限'], ['some', '有'], ['zero', '无']];
const STATUS_ORDER = {none: 0, partial: 1, complete: 3};
const statusRank = (r) => (r.status === 'failed' ? -1 : unfinished(r) ? 2 : STATUS_ORDER[r.reading] ?? 3);
const SORTS = {
  filename: (r) => r.filename, agency: (r) => r.agency ?? '', year: (r) => r.year ?? 0, status: statusRank,
  errors: (r) => r.findings_count.error, warnings: (r) => r.findings_count.warning, created: (r) => r.created ?? '',
};

function counted(filter, n) {
  return filter === '' || (filter === 'some' ? n > 0 : n === 0);
}

/** The reports that pass the filters, in the chosen order. */
export function visible(reports, view) {
  const {status, errors, warnings, agency, year} = view.filters;
  const shown = reports.filter((r) => STATES[status][1](r)
    && counted(errors, r.findings_count.error) && counted(warnings, r.findings_count.warning)
    && (!agency || (r.agency ?? '').includes(agency) || r.filename.includes(agency))
    && (!year || String(r.year) === year));
  const key = SORTS[view.sort.key];
  const order = (a, b) => {
    const [x, y] = [key(a), key(b)];
    return typeof x === 'string' ? x.localeCompare(y, 'zh-CN') : x - y;
  };
  return shown.sort((a, b) => order(a, b) * view.sort.dir);
}

/** A labelled <select> over [value, text] pairs. */
function select(name, label, options, value, onChange) {
  return h('label', {class: 'filter'}, label, h('select', {name, onchange: (e) => onChange(e.target.value)},
    options.map(([k, text]) => h('option', {value: k, selected: k === value}, text))));
}

/** The filters, made once per visit of the list so that typing is never interrupted by the refreshes;
 *  `setYears` offers the years read so far. */
export function filterBar(view, onChange) {
  const set = (name) => (value) => {
    view.filters[name] = value;
    onChange();
  };
  const year = select('year', '年度', [['', '全部年度']], view.filters.year, set('year'));
  const agency = h('input', {type: 'search', name: 'agency', value: view.filters.agency, placeholder: '机关或文件名',
    'aria-label': '按机关筛选', oninput: (e) => set('agency')(e.target.value.trim())});
  const bar = h('div', {class: 'filters'},
    select('status', '状态', Object.entries(STATES).map(([k, [text]]) => [k, text]), view.filters.status, set('status')),
    select('errors', '错误', COUNTS, view.filters.errors, set('errors')),
    select('warnings', '警告', COUNTS, view.filters.warnings, set('warnings')),
    year, h('label', {class: 'filter'}, '机关', agency));
  let offered = '';
  bar.setYears = (years) => {
    if (years.join() === offered) return;
    offered = years.join();
    year.querySelector('select').replaceChildren(...[['', '全部年度'], ...years.map((y) => [String(y), `${y} 年度`])]
      .map(([k, text]) => h('option', {value: k, selected: k === view.filters.year}, text)));
  };
  return bar;
}

/** How many reports are selected, and their export. */
export function bulkBar(view, onExport) {
  return h('div', {class: 'bulk'},
    h('span', {class: 'selected-count'}, `已选 ${view.selected.size} 份`),
    ['csv', 'xlsx', 'zip'].map((format) => h('button', {
      type: 'button', class: 'bulk-export', 'data-format': format, disabled: !view.selected.size,
      onclick: () => onExport(format),
    }, format === 'zip' ? '导出 JSON（zip）' : `导出 ${format.toUpperCase()}`)));
}

// ------------------------------------------------------------------ the list
const COLUMNS = [['filename', '文件'], ['agency', '机关'], ['year', '年度'], ['status', '状态'],
  ['errors', '错误'], ['warnings', '警告'], ['created', '上传时间']];

function heading(view, key, label, onChange) {
  const current = view.sort.key === key;
  const sort = () => {
    view.sort = {key, dir: current ? -view.sort.dir : 1};
    onChange();
  };
  return h('th', {'data-sort': key, 'aria-sort': current ? (view.sort.dir > 0 ? 'ascending' : 'descending') : 'none'},
    h('button', {type: 'button', class: 'sort', onclick: sort}, label, current ? (view.sort.dir > 0 ? ' ▲' : ' ▼') : ''));
}

function count(n, severity) {
  return h('span', {class: `badge sev-${severity}${n ? '' : ' zero'}`}, String(n));
}

function reportRow(report, view, actions) {
  const open = (e) => {
    if (!e.target.closest('input, button, a')) location.hash = reportHref(report.id);
  };
  const done = report.status === 'done';
  const box = h('input', {type: 'checkbox', 'aria-label': `选择 ${report.filename}`, checked: view.selected.has(report.id),
    onchange: (e) => actions.select([report.id], e.target.checked)});
  return h('tr', {class: `report-row status-${report.status} reading-${report.reading ?? 'pending'}`, 'data-id': report.id,
    tabindex: 0, onclick: open, onkeydown: (e) => e.key === 'Enter' && open(e)},
  h('td', {class: 'pick'}, box),
  h('td', {class: 'file'}, h('a', {href: reportHref(report.id)}, report.filename)),
  h('td', {class: 'agency'}, report.agency ?? '—'),
  h('td', {}, report.year ?? '—'),
  h('td', {class: 'status-cell'}, statusView(report),
    report.status === 'failed' ? h('span', {class: 'row-actions'},
      h('button', {type: 'button', class: 'retry', onclick: () => actions.retry(report.id)}, '重试'),
      h('button', {type: 'button', class: 'delete', onclick: () => actions.remove(report.id)}, '删除')) : null),
  h('td', {class: 'num'}, done ? count(report.findings_count.error, 'error') : ''),
  h('td', {class: 'num'}, done ? count(report.findings_count.warning, 'warning') : ''),
  h('td', {class: 'time'}, formatTime(report.created)));
}

export function reportsTable(reports, view, actions, onChange) {
  if (!reports.length) return h('p', {class: 'empty'}, '没有符合条件的报告。');
  const all = reports.every((r) => view.selected.has(r.id));
  const pickAll = h('input', {type: 'checkbox', 'aria-label': '全选', checked: all,
    onchange: (e) => actions.select(reports.map((r) => r.id), e.target.checked)});
  return h('div', {class: 'table-scroll'}, h('table', {class: 'list'},
    h('thead', {}, h('tr', {}, h('th', {class: 'pick'}, pickAll), COLUMNS.map(([k, label]) => heading(view, k, label, onChange)))),
    h('tbody', {}, reports.map((r) => reportRow(r, view, actions)))));
}

// ------------------------------------------------------------------ the batch view
function batchEntry(report) {
  return h('a', {href: reportHref(report.id), class: `batch-report status-${report.status} reading-${report.reading ?? 'pending'}`,
    title: report.filename},
  h('span', {class: 'file'}, report.filename),
  report.status === 'done'
    ? [report.reading !== 'complete' ? h('span', {class: `reading ${report.reading}`}, readingLabel(report)) : null,
      countBadges(report.findings_count)]
    : statusView(report),
  report.crossyear?.length ? h('ul', {class: 'crossyear'},
    report.crossyear.map((f) => h('li', {}, h('span', {class: 'tag'}, '跨年度'), f.message))) : null);
}

/** Each read report's body (GET /api/agencies): one row for the names the service joined. */
function bodiesOf(bodies) {
  const byReport = new Map();
  for (const body of bodies) {
    for (const name of body.names) for (const report of name.reports) byReport.set(report.id, body);
  }
  return byReport;
}

/** A body's row head: its fullest name, the names its reports printed when they differ, a 拆分 for
 *  each shorter name the service joined to it (kept apart on request), or that it was kept apart (joined again). */
function bodyHead(body, label, actions) {
  const names = body?.names ?? [];
  const printed = [...new Set(names.flatMap((n) => n.reports.map((r) => r.agency)))];
  return h('th', {class: 'agency', scope: 'row'}, label,
    printed.length > 1 ? h('div', {class: 'joined'}, `已合并：${printed.join('、')}`) : null,
    names.length > 1 ? h('div', {class: 'joined'}, names.filter((n) => n.name !== body.name).map((n) => h('button', {
      type: 'button', class: 'apart', 'data-name': n.name, title: `把“${n.name}”作为单独的机关列出`,
      onclick: () => actions.apart(n.name)}, `拆分“${n.name}”`))) : null,
    body?.apart ? h('div', {class: 'joined'}, '已单独列出 ',
      h('button', {type: 'button', class: 'join', onclick: () => actions.join(names[0].name)}, '重新合并')) : null,
    body?.could_be?.length ? h('div', {class: 'joined'}, `可能是：${body.could_be.join('、')}`) : null);
}

/** Reports read, grouped by body (rows, the column fixed while years scroll: names the service joins
 *  into one body share a row) and year (columns); the ones still being read are only counted. */
export function batchTable(all, bodies, actions) {
  const reports = all.filter((r) => !unfinished(r));
  const waiting = all.length - reports.length;
  const pending = waiting ? h('p', {class: 'in-progress'}, `另有 ${waiting} 份报告正在处理，读出机关和年度后列入下表。`) : null;
  if (!reports.length) return [pending, h('p', {class: 'empty'}, '没有符合条件的报告。')];
  const byReport = bodiesOf(bodies);
  const rowOf = (r) => byReport.get(r.id)?.key ?? r.agency ?? '（未识别机关）';
  const labels = new Map(reports.map((r) => [rowOf(r), byReport.get(r.id)?.name ?? r.agency ?? '（未识别机关）']));
  const keys = [...labels.keys()].sort((a, b) => labels.get(a).localeCompare(labels.get(b), 'zh-CN'));
  const years = [...new Set(reports.map((r) => r.year ?? null))].sort((a, b) => (a ?? 1e9) - (b ?? 1e9));
  const crossyear = reports.reduce((n, r) => n + (r.crossyear?.length ?? 0), 0);
  const head = h('tr', {}, h('th', {class: 'agency'}, '机关'), years.map((y) => h('th', {}, y === null ? '未识别年度' : `${y} 年度`)));
  const rows = keys.map((key) => {
    const mine = reports.filter((r) => rowOf(r) === key);
    return h('tr', {'data-body': key}, bodyHead(byReport.get(mine[0].id), labels.get(key), actions),
      years.map((year) => h('td', {}, mine.filter((r) => (r.year ?? null) === year).map(batchEntry))));
  });
  return [
    h('p', {class: 'summary'}, `${keys.length} 个机关，${reports.length} 份报告，跨年度问题 ${crossyear} 条。`,
      '跨年度检查把每份报告与同一机关上一年度的报告对照；名称写法不同的同一机关合并为一行，可拆分。'),
    pending,
    h('div', {class: 'table-scroll batch-scroll'}, h('table', {class: 'batch'}, h('thead', {}, head), h('tbody', {}, rows))),
  ];
}
