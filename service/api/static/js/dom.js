// Small DOM helpers. Server text only ever becomes text nodes or attribute values, never HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  return append(el, children);
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let noticeTimer = null;

/** A short message at the top of the page; kind is "ok" or "error". */
export function notify(message, kind = 'ok') {
  const box = document.getElementById('notice');
  box.textContent = message;
  box.className = `notice ${kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { box.hidden = true; }, kind === 'error' ? 10000 : 4000);
}

export function formatNumber(value) {
  return typeof value === 'number' ? value.toLocaleString('zh-CN', {maximumFractionDigits: 4}) : String(value);
}

export function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString('zh-CN', {hour12: false}) : '';
}

export const SEVERITY = {error: '错误', warning: '警告', info: '提示'};
const STATUS = {queued: '排队中', running: '处理中', done: '已完成', failed: '失败'};
const STAGE = {ingest: '读取文件', extract: '抽取表格', check: '检查数据', done: '完成', failed: '失败'};

/** Finding counts by severity as three small badges. */
export function countBadges(counts) {
  return h('span', {class: 'counts'}, Object.keys(SEVERITY).map((s) => h('span', {
    class: `badge sev-${s}${counts[s] ? '' : ' zero'}`, title: `${SEVERITY[s]} ${counts[s]} 条`,
  }, `${SEVERITY[s]} ${counts[s]}`)));
}

const READING = {complete: '已完成', partial: '部分读出', none: '未读出表格'};

/** 已完成, or 部分读出 / 未读出表格 when tables were not read whole. */
export function readingLabel(report) {
  return READING[report.reading] ?? STATUS.done;
}

/** Which tables were not read whole, e.g. "表三 读出 0/182：…". */
export function shortfall(report) {
  return (report.incomplete ?? []).map((t) => `${t.name} 读出 ${t.read}/${t.expected}：${t.reason}`).join('\n');
}

/** A report's status: a progress bar while it is queued or running, else a word (and the error). */
export function statusView(report) {
  const {status, progress, error} = report;
  if (status === 'done') {
    return h('span', {class: `status done reading-${report.reading}`, title: shortfall(report) || null}, readingLabel(report));
  }
  if (status === 'failed') return h('span', {class: 'status failed'}, `${STATUS.failed}：${error ?? '未知原因'}`);
  const stage = progress?.stage === 'queued' ? '' : ` · ${STAGE[progress?.stage] ?? progress?.stage ?? ''} ${progress?.percent ?? 0}%`;
  return h('span', {class: 'status running'},
    h('progress', {max: 100, value: progress?.percent ?? 0}), h('span', {class: 'stage'}, `${STATUS[status] ?? status}${stage}`));
}
