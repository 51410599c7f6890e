// The upload zone, the list of reports and the batch view across agencies and years.

import {uploadFiles} from './api.js';
import {countBadges, formatTime, h, notify, statusView} from './dom.js';

const reportHref = (id) => `#/report/${encodeURIComponent(id)}`;

/** Drag-and-drop or pick files (or a .zip); shows upload progress, then hands over the new ids. */
export function uploadZone(onUploaded) {
  const input = h('input', {type: 'file', multiple: true, hidden: true, 'aria-label': '选择报告文件'});
  const bar = h('progress', {max: 100, value: 0});
  const status = h('span', {class: 'upload-status'});
  const progress = h('div', {class: 'upload-progress', hidden: true}, bar, status);
  const zone = h('div', {class: 'dropzone', tabindex: 0, role: 'button', 'aria-label': '上传报告'},
    h('p', {class: 'drop-title'}, '将报告文件或 .zip 压缩包拖到此处，或', h('span', {class: 'pick'}, '选择文件')),
    h('p', {class: 'hint'}, '支持网页（HTML）、Word（DOCX）、PDF 和文本文件；可一次上传多个文件，或一个包含多份报告的 .zip。'),
    progress, input);

  async function send(files) {
    if (!files.length) return;
    progress.hidden = false;
    progress.classList.remove('failed');
    bar.value = 0;
    status.textContent = `正在上传 ${files.length} 个文件…`;
    try {
      const ids = await uploadFiles(files, (share) => {
        bar.value = Math.round(share * 100);
        status.textContent = `正在上传 ${files.length} 个文件… ${bar.value}%`;
      });
      bar.value = 100;
      status.textContent = `已提交 ${ids.length} 份报告，正在后台处理`;
      onUploaded(ids);
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
  return zone;
}

function reportRow(report) {
  const open = () => { location.hash = reportHref(report.id); };
  return h('tr', {
    class: `report-row status-${report.status}`, 'data-id': report.id, tabindex: 0, onclick: open,
    onkeydown: (e) => e.key === 'Enter' && open(),
  },
  h('td', {}, h('a', {href: reportHref(report.id)}, report.filename)),
  h('td', {}, report.agency ?? '—'),
  h('td', {}, report.year ?? '—'),
  h('td', {class: 'status-cell'}, statusView(report)),
  h('td', {}, report.status === 'done' ? countBadges(report.findings_count) : ''),
  h('td', {class: 'time'}, formatTime(report.created)));
}

export function reportsTable(reports) {
  if (!reports.length) return h('p', {class: 'empty'}, '还没有报告。把一份年报拖到上方开始。');
  const heads = ['文件', '机关', '年度', '状态', '检查结果', '上传时间'];
  return h('table', {class: 'list'}, h('thead', {}, h('tr', {}, heads.map((t) => h('th', {}, t)))),
    h('tbody', {}, [...reports].reverse().map(reportRow)));
}

/** Show new progress in a report's row of the list, if the list is on screen. */
export function updateRow(root, id, state) {
  const cell = root.querySelector(`tr[data-id="${CSS.escape(id)}"] .status-cell`);
  cell?.replaceChildren(statusView({status: state.status, progress: state, error: state.error}));
}

function batchEntry(report) {
  return h('a', {href: reportHref(report.id), class: `batch-report status-${report.status}`},
    h('span', {class: 'file'}, report.filename),
    report.status === 'done' ? countBadges(report.findings_count) : statusView(report),
    report.crossyear?.length ? h('ul', {class: 'crossyear'},
      report.crossyear.map((f) => h('li', {}, h('span', {class: 'tag'}, '跨年度'), f.message))) : null);
}

/** Reports grouped by agency (rows) and year (columns), with cross-year findings. */
export function batchTable(reports) {
  if (!reports.length) return h('p', {class: 'empty'}, '还没有报告。');
  const unknown = '（未识别机关）';
  const agencies = [...new Set(reports.map((r) => r.agency ?? unknown))].sort((a, b) => a.localeCompare(b, 'zh-CN'));
  const years = [...new Set(reports.map((r) => r.year ?? null))].sort((a, b) => (a ?? 1e9) - (b ?? 1e9));
  const crossyear = reports.reduce((n, r) => n + (r.crossyear?.length ?? 0), 0);
  const head = h('tr', {}, h('th', {}, '机关'), years.map((y) => h('th', {}, y === null ? '未识别年度' : `${y} 年度`)));
  const rows = agencies.map((agency) => h('tr', {}, h('th', {class: 'agency'}, agency), years.map((year) =>
    h('td', {}, reports.filter((r) => (r.agency ?? unknown) === agency && (r.year ?? null) === year).map(batchEntry)))));
  return [
    h('p', {class: 'summary'}, `${agencies.length} 个机关，${reports.length} 份报告，跨年度问题 ${crossyear} 条。`,
      '跨年度检查把每份报告与同一机关上一年度的报告对照（机关名称须一致）。'),
    h('div', {class: 'table-scroll'}, h('table', {class: 'batch'}, h('thead', {}, head), h('tbody', {}, rows))),
  ];
}
