// One report: its tables with check colours, the source of a cell, edits, findings, draft, exports.

import {api, download, imageUrl} from './api.js';
import {SEVERITY, countBadges, fill, formatNumber, h, notify, readingLabel, shortfall, statusView} from './dom.js';
import {describeFields, isLowConfidence, renderTables} from './tables.js';

const METHOD = {rule: '规则抽取', ocr: 'OCR 识别', 'ocr+check': 'OCR 识别（已校验）', llm: '大模型抽取', manual: '人工修改'};
const ALIGNMENT = {exact: '与原文一致', fuzzy: '与原文近似', not_found: '原文中未找到'};
const CAUSE = {extraction: '抽取疑似有误', report: '报告本身不一致'};
const ORDER = {error: 0, warning: 1, info: 2};
const CONTEXT = 360;  // characters of source shown on each side of a cell's span
const POLL = 1000;  // ms between looks at a report still being processed
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** "12", "", "—" → 12, null, null; anything else that is not a number is refused in Chinese. */
export function parseValue(text) {
  const cleaned = text.trim().replace(/[,，\s]/g, '');
  if (/^(|空|无|[-—–/／])$/.test(cleaned)) return null;
  const value = Number(cleaned);
  if (!Number.isFinite(value)) throw new Error('请输入数字；留空表示空白单元格');
  return value;
}

function legend() {
  const item = (cls, label, text = '8') => h('span', {class: 'legend-item'},
    h('span', {class: `cell swatch ${cls}`}, text), label);
  return h('div', {class: 'legend'}, '图例：',
    item('sev-error', '错误'), item('sev-warning', '警告'), item('low-confidence', '识别置信度低，请核对'),
    item('manual', '人工修改'), item('blank', '空白单元格', '空'), item('missing', '报告中没有此格', '缺失'));
}

function term(name, value) {
  return [h('dt', {}, name), h('dd', {}, value)];
}

export class ReportView {
  constructor(root, layout, id) {
    this.root = root;
    this.layout = layout;
    this.id = id;
    this.path = `/api/reports/${encodeURIComponent(id)}`;
    this.active = true;
    this.selected = null;
    this.linked = new Set();
    this.source = null;
  }

  close() {
    this.active = false;
  }

  /** The report, looked at again every POLL ms while it is processed (no stream of its own). */
  async load() {
    for (;;) {
      this.detail = await api(this.path);
      if (!this.active) return undefined;
      if (this.detail.status === 'done') return this.render();
      this.renderPending();
      if (this.detail.status === 'failed') return undefined;
      await sleep(POLL);
    }
  }

  renderPending() {
    const d = this.detail;
    fill(this.root, h('a', {href: '#/', class: 'back'}, '← 返回列表'), h('h2', {}, d.filename),
      h('div', {class: 'pending'}, statusView(d)));
  }

  // ------------------------------------------------------------------ the review page
  render() {
    this.names = describeFields(this.layout, this.detail.meta?.template);
    const part = (cls, tag = 'section') => h(tag, {class: cls});
    this.parts = {
      head: part('report-head', 'div'), tables: part('tables', 'div'), notes: part('notes', 'div'),
      draft: part('panel draft-panel'), cell: part('panel cell-panel'), findings: part('panel findings-panel'),
    };
    const {head, tables, notes, draft, cell, findings} = this.parts;
    fill(this.root, head, legend(), h('div', {class: 'report-body'},
      h('div', {class: 'report-main'}, tables, notes), h('aside', {class: 'report-side'}, cell, findings), draft));
    this.bindTables(tables);
    this.refresh();
  }

  /** Everything that depends on the fields and findings, after loading or after an edit. */
  refresh() {
    this.renderHead();
    this.renderTables();
    this.renderNotes();
    this.renderFindings();
    this.renderCell();
    this.renderDraft();  // a correction can leave the draft's figures behind: it says so at once
  }

  bindTables(tables) {
    const cellOf = (event) => event.target.closest('td[data-key]');
    tables.addEventListener('click', (e) => cellOf(e) && this.select(cellOf(e).dataset.key));
    tables.addEventListener('dblclick', (e) => cellOf(e) && this.editInline(cellOf(e)));
    tables.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && e.target.matches('td[data-key]')) this.editInline(e.target);
    });
  }

  renderHead() {
    const d = this.detail;
    const meta = d.meta ?? {};
    const exports = ['csv', 'xlsx', 'json'].map((format) => h('button', {
      type: 'button', class: 'export', 'data-format': format, onclick: () => this.export(format),
    }, `导出 ${format.toUpperCase()}`));
    fill(this.parts.head,
      h('a', {href: '#/', class: 'back'}, '← 返回列表'),
      h('h2', {}, meta.title || d.filename),
      h('p', {class: 'meta'},
        h('span', {}, `机关：${meta.agency ?? '未识别'}`), h('span', {}, `年度：${meta.year ?? '未识别'}`),
        h('span', {}, `模板：${this.layout.templates[meta.template]?.label ?? '未识别'}`),
        h('span', {}, `文件：${d.filename}`), countBadges(d.findings_count)),
      d.reading !== 'complete' ? h('p', {class: `reading-banner ${d.reading}`, role: 'status'},
        h('strong', {}, readingLabel(d)), ` · ${shortfall(d).replaceAll('\n', '；')}`) : null,
      h('div', {class: 'exports'}, exports));
  }

  renderTables() {
    fill(this.parts.tables, renderTables(this.layout, this.detail));
    this.markCells();
  }

  markCells() {
    for (const td of this.parts.tables.querySelectorAll('td[data-key]')) {
      td.classList.toggle('selected', td.dataset.key === this.selected);
      td.classList.toggle('linked', this.linked.has(td.dataset.key));
    }
  }

  cellElement(key) {
    return this.parts.tables.querySelector(`td[data-key="${CSS.escape(key)}"]`);
  }

  select(key) {
    if (key === this.selected) return;
    this.selected = key;
    this.markCells();
    this.renderCell();
    this.renderFindings();
  }

  renderNotes() {
    const {warnings = [], unplaced = []} = this.detail;
    if (!warnings.length && !unplaced.length) return fill(this.parts.notes);
    const items = [...warnings.map((w) => h('li', {}, w)),
      ...unplaced.map((u) => h('li', {}, `${u.label}：${u.values.join(' ')}（${u.reason}）`))];
    return fill(this.parts.notes, h('details', {class: 'panel'},
      h('summary', {}, `抽取提示（${items.length}）：未能放入表格的行和其他说明`), h('ul', {}, items)));
  }

  // ------------------------------------------------------------------ one cell: source and edit
  renderCell() {
    const panel = this.parts.cell;
    const key = this.selected;
    if (!key) {
      return fill(panel, h('h3', {}, '单元格来源'),
        h('p', {class: 'hint'}, '单击表格中的单元格查看它在原文中的位置；双击单元格可直接修改。'));
    }
    const d = this.detail;
    const present = Object.hasOwn(d.fields, key);
    const value = present ? d.fields[key] : null;
    const provenance = d.provenance[key];
    const shown = !present ? '缺失（报告中没有此单元格）' : value === null ? '空白' : formatNumber(value);
    const corrected = Object.hasOwn(d.corrections, key);
    const facts = h('dl', {class: 'cell-facts'}, term('数值', shown),
      provenance ? term('提取方式', METHOD[provenance.method] ?? provenance.method) : null,
      provenance ? term('置信度', `${provenance.confidence.toFixed(2)}${isLowConfidence(provenance) ? '（偏低，请核对）' : ''}`) : null,
      provenance?.raw !== undefined ? term('单元格原文', provenance.raw === '' ? '（空）' : provenance.raw) : null,
      corrected ? term('对齐', `已人工修改（抽取值 ${this.extractedText(key)}）`)
        : provenance?.alignment ? term('对齐', ALIGNMENT[provenance.alignment] ?? provenance.alignment) : null);
    const undo = corrected ? h('button', {type: 'button', class: 'undo', onclick: () => this.undo(key)},
      `撤销修改，恢复抽取值 ${this.extractedText(key)}`) : null;
    const source = h('div', {class: 'source-box'}, h('p', {class: 'hint'}, '正在读取原文…'));
    fill(panel, h('h3', {}, '单元格来源'), h('p', {class: 'cell-name'}, (this.names.get(key) ?? [key]).join(' · ')),
      h('code', {class: 'key'}, key), facts, this.editForm(key, value), undo, source);
    const where = provenance?.location;
    if (where?.ocr && where.page && where.bbox) return this.renderScan(source, key, where);
    return this.renderSource(source, key, where);
  }

  extractedText(key) {
    if (!Object.hasOwn(this.detail.extracted, key)) return '（缺失）';
    const value = this.detail.extracted[key];
    return value === null ? '（空白）' : formatNumber(value);
  }

  async undo(key) {
    try {
      this.detail = await api(`${this.path}/fields/${encodeURIComponent(key)}`, 'DELETE');
    } catch (error) {
      notify(error.message, 'error');
      return;
    }
    if (!this.active) return;
    this.refresh();
    notify('已撤销修改，已重新检查');
  }

  /** An OCR cell: its piece of the page image beside what the recogniser read. */
  async renderScan(box, key, location) {
    const reading = location.ocr;
    const image = h('img', {class: 'scan-crop', alt: `第 ${location.page} 页上的单元格图像`});
    fill(box, h('p', {class: 'source-head'}, '扫描原图', h('span', {class: 'page'}, `第 ${location.page} 页`)),
      h('div', {class: 'scan-pair'}, h('figure', {}, image, h('figcaption', {}, '蓝框为此单元格')),
        h('div', {class: 'ocr-reading'}, h('span', {class: 'hint'}, '识别为'),
          h('p', {class: 'ocr-text'}, reading.text || '（未识别到文字）'),
          h('p', {class: 'hint'}, `识别置信度 ${reading.confidence.toFixed(2)}`),
          reading.alternatives?.length ? h('p', {class: 'hint'}, `其他可能：${reading.alternatives.slice(0, 3).join('、')}`) : null)));
    try {
      const url = await imageUrl(`${this.path}/fields/${encodeURIComponent(key)}/image`);
      if (key !== this.selected || !box.isConnected) return URL.revokeObjectURL(url);
      image.src = url;
    } catch (error) {
      image.replaceWith(h('p', {class: 'hint'}, `读取原图失败：${error.message}`));
    }
    return undefined;
  }

  editForm(key, value) {
    const input = h('input', {type: 'text', name: 'value', inputmode: 'decimal', autocomplete: 'off',
      value: value === null ? '' : String(value), placeholder: '留空表示空白'});
    return h('form', {class: 'edit', onsubmit: (e) => { e.preventDefault(); this.saveText(key, input.value); }},
      h('label', {}, '改为 ', input), h('button', {type: 'submit', class: 'primary'}, '保存并重新检查'));
  }

  sourceText() {
    this.source ??= api(`${this.path}/source`).then((body) => body.text);
    return this.source;
  }

  /** The document text around the cell's span, the span highlighted and scrolled into view. */
  async renderSource(box, key, location) {
    if (!location || location.start === null || location.start === undefined) {
      return fill(box, h('p', {class: 'hint'}, '此单元格没有原文位置。'));
    }
    let text;
    try {
      text = await this.sourceText();
    } catch (error) {
      return fill(box, h('p', {class: 'hint'}, `读取原文失败：${error.message}`));
    }
    if (key !== this.selected || !box.isConnected) return undefined;
    const start = location.start;
    const end = Math.max(location.end ?? start, start);
    const from = Math.max(0, start - CONTEXT);
    const to = Math.min(text.length, end + CONTEXT);
    const mark = h('mark', {class: end > start ? '' : 'empty', title: end > start ? '' : '此处为空白单元格'},
      text.slice(start, end));
    const pre = h('pre', {class: 'source'}, from > 0 ? '…' : '', text.slice(from, start), mark,
      text.slice(end, to), to < text.length ? '…' : '');
    fill(box, h('p', {class: 'source-head'}, '原文', location.page ? h('span', {class: 'page'}, `第 ${location.page} 页`) : null), pre);
    pre.scrollTop = mark.offsetTop - pre.clientHeight / 2;
    return undefined;
  }

  editInline(td) {
    if (td.querySelector('input')) return;
    const key = td.dataset.key;
    const before = this.detail.fields[key];
    const original = before === null || before === undefined ? '' : String(before);
    const input = h('input', {type: 'text', class: 'inline', value: original, 'aria-label': '新数值'});
    td.replaceChildren(input);
    input.focus();
    input.select();
    let finished = false;
    const finish = (commit) => {
      if (finished) return;
      finished = true;
      if (commit && input.value.trim() !== original) this.saveText(key, input.value);
      else this.renderTables();
    };
    input.addEventListener('keydown', (e) => {
      e.stopPropagation();
      if (e.key === 'Enter') finish(true);
      if (e.key === 'Escape') finish(false);
    });
    input.addEventListener('blur', () => finish(true));
  }

  saveText(key, text) {
    let value;
    try {
      value = parseValue(text);
    } catch (error) {
      notify(error.message, 'error');
      this.renderTables();
      return undefined;
    }
    return this.save({[key]: value}, '已保存，已重新检查');
  }

  /** PATCH corrections; the answer carries the new findings, shown at once. */
  async save(fields, message) {
    try {
      this.detail = await api(`${this.path}/fields`, 'PATCH', {fields});
    } catch (error) {
      notify(error.message, 'error');
      this.renderTables();
      return false;
    }
    if (!this.active) return false;
    this.refresh();
    notify(message);
    return true;
  }

  // ------------------------------------------------------------------ findings
  renderFindings() {
    const findings = [...this.detail.findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
    fill(this.parts.findings, h('h3', {}, '检查结果 ', countBadges(this.detail.findings_count)),
      findings.length
        ? h('ol', {class: 'findings'}, findings.map((f) => this.findingItem(f)))
        : h('p', {class: 'all-good'}, '未发现问题。'));
  }

  findingItem(finding) {
    const involves = this.selected && finding.fields.includes(this.selected);
    return h('li', {
      class: `finding sev-${finding.severity}${involves ? ' involves' : ''}`, 'data-rule': finding.rule,
      title: '单击在表格中标出涉及的单元格', onclick: () => this.link(finding),
    },
    h('div', {class: 'finding-head'}, h('span', {class: `badge sev-${finding.severity}`}, SEVERITY[finding.severity]),
      h('code', {class: 'rule'}, finding.rule),
      finding.fields.length ? h('span', {class: 'involved'}, `涉及 ${finding.fields.length} 格`) : null),
    h('p', {class: 'message'}, finding.message),
    finding.suggestions.length
      ? h('ul', {class: 'suggestions'}, finding.suggestions.map((s) => this.suggestionItem(s))) : null);
  }

  suggestionItem(suggestion) {
    const accept = (event) => {
      event.stopPropagation();
      event.target.disabled = true;
      this.save(suggestion.fields, '已采纳建议，已重新检查');
    };
    const cells = Object.keys(suggestion.fields).length;
    return h('li', {class: `suggestion${cells > 2 ? ' whole' : ''}`, 'data-fields': Object.keys(suggestion.fields).join(' ')},
      h('span', {class: 'reason'}, suggestion.reason),
      suggestion.cause ? h('span', {class: `cause ${suggestion.cause}`}, CAUSE[suggestion.cause] ?? suggestion.cause) : null,
      h('button', {type: 'button', class: 'accept', onclick: accept}, cells > 2 ? `全部采纳（${cells} 格）` : '采纳'));
  }

  link(finding) {
    this.linked = new Set(finding.fields);
    this.markCells();
    const first = finding.fields.map((key) => this.cellElement(key)).find(Boolean);
    first?.scrollIntoView({block: 'center', behavior: 'smooth'});
  }

  // ------------------------------------------------------------------ draft of section 五
  renderDraft() {
    const draft = this.detail.draft;
    const button = h('button', {type: 'button', class: 'primary', onclick: () => this.makeDraft(button)},
      draft ? '重新生成草稿' : '生成第五部分草稿');
    const stale = draft?.stale
      ? h('p', {class: 'draft-stale badge sev-warning', role: 'status'},
        `数据已修改（${(draft.stale_keys ?? []).join('、')}），草稿中的数字已过时，请重新生成`)
      : null;
    fill(this.parts.draft,
      h('div', {class: 'panel-head'}, h('h3', {}, '五、存在的主要问题及改进情况（草稿）'), button),
      stale,
      draft ? draftBody(draft)
        : h('p', {class: 'hint'}, '依据本年数据、上年报告和检查结果起草；草稿中的每个数字都标注了依据，请修改后使用。'));
  }

  async makeDraft(button) {
    button.disabled = true;
    button.textContent = '正在生成…';
    try {
      this.detail.draft = await api(`${this.path}/draft`, 'POST');
    } catch (error) {
      notify(error.message, 'error');
    }
    if (this.active) this.renderDraft();
  }

  async export(format) {
    const stem = (this.detail.filename || this.id).replace(/\.[^.]+$/, '');
    try {
      await download(`${this.path}/export?format=${format}`, `${stem}.${format}`);
    } catch (error) {
      notify(error.message, 'error');
    }
  }
}

const CITATION = /\[([FP]\d+(?:[,，]\s*[FP]\d+)*)\]/;  // [F1], [P2], [F1，F3]
const SHORT = 100;

/** Either draft shape the API has served: {text, facts[{id, sentence}]} or
 *  {draft, findings[{id, text}], examples[{id, kind, agency, year, text}], checks, flags}. */
function draftParts(draft) {
  const facts = [...(draft.facts ?? []), ...(draft.findings ?? [])].map((f) => ({id: f.id, text: f.sentence ?? f.text}));
  const examples = (draft.examples ?? []).map((e) => ({
    id: e.id, text: e.text.length > SHORT ? `${e.text.slice(0, SHORT)}…` : e.text,
    source: `${e.kind === 'own' ? '本机关' : '同类机关'}往年第五部分 ${e.agency ?? ''} ${e.year ?? ''}`.trim(),
  }));
  return {text: draft.draft ?? draft.text ?? '',  // draft: with its [F1] marks; text: words only
    basis: [...facts, ...examples], checks: draft.checks ?? [],
    flags: draft.flags ?? []};
}

/** The draft's text with each cited id a button that shows what it stands for, then that list. */
function draftBody(draft) {
  const {text, basis, checks, flags} = draftParts(draft);
  const byId = new Map(basis.map((b) => [b.id, b]));
  const list = h('ol', {class: 'fact-list'}, basis.map((b) => h('li', {'data-fact': b.id},
    h('span', {class: 'fact-id'}, b.id), b.source ? h('span', {class: 'fact-source'}, b.source) : null, b.text)));
  const show = (id) => {
    for (const li of list.children) li.classList.toggle('active', li.dataset.fact === id);
    list.querySelector(`[data-fact="${CSS.escape(id)}"]`)?.scrollIntoView({block: 'nearest'});
  };
  const cite = (id) => h('button', {type: 'button', class: 'cite', 'data-fact': id, onclick: () => show(id)},
    id, h('span', {class: 'tip', role: 'tooltip'}, byId.get(id)?.text ?? '未找到此依据'));
  const cites = (group) => h('span', {class: 'cites'}, '[',
    group.split(/[,，]\s*/).flatMap((id, i) => (i ? ['，', cite(id)] : [cite(id)])), ']');
  const lines = text.split('\n').map((line) => h('p', {}, line.split(CITATION).map((part, i) => (i % 2 ? cites(part) : part))));
  return [
    h('p', {class: 'draft-label'}, draft.label, flags.map((flag) => h('span', {class: 'badge sev-warning'}, flag))),
    h('div', {class: 'draft-text'}, lines),
    checks.length ? h('ul', {class: 'draft-checks'}, checks.map((c) => h('li', {class: c.passed ? 'pass' : 'fail'},
      c.passed ? '✓ ' : '✗ ', c.message))) : null,
    h('h4', {}, '依据（单击草稿中的编号查看）'), list,
    (draft.llm_checks ?? []).some((c) => !c.passed)
      ? h('ul', {class: 'draft-checks'}, draft.llm_checks.filter((c) => !c.passed).map((c) => h('li', {class: 'fail'},
        '大模型草稿未通过：', c.message))) : null,
    (draft.notes ?? []).length ? h('p', {class: 'hint'}, draft.notes.join('；')) : null,
    (draft.figures ?? []).length ? h('details', {class: 'draft-figures'},
      h('summary', {}, `本草稿所用的报告数据（${draft.figures.length} 项）`),
      h('ul', {}, draft.figures.map((f) => h('li', {'data-key': f.key}, `${f.key}：`,
        f.how === 'blank' ? '空白' : String(f.value),
        f.how === 'summed' ? `（总计栏空白，由 ${f.parts.length} 项相加）` : '')))) : null,
  ];
}
