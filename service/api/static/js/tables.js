// Tables 2, 3 and 4 laid out like the national template. Every label comes from GET /api/registry.

import {formatNumber, h} from './dom.js';

const LOW_CONFIDENCE = 0.85;

/** By how sure the reader was (the recogniser's own confidence for OCR), never by the method alone. */
export function isLowConfidence(provenance) {
  return Boolean(provenance) && provenance.method !== 'manual' && provenance.confidence < LOW_CONFIDENCE;
}

/** key → "error" | "warning" from the findings that name the cell (errors win). */
function severities(findings) {
  const marks = new Map();
  for (const finding of findings) {
    if (finding.severity !== 'error' && finding.severity !== 'warning') continue;
    for (const key of finding.fields) {
      if (marks.get(key) !== 'error') marks.set(key, finding.severity);
    }
  }
  return marks;
}

/** One value cell: its text says blank (空) and missing (缺失) apart from numbers. */
function valueCell(key, report, marks) {
  const present = Object.hasOwn(report.fields, key);
  const value = report.fields[key];
  const provenance = report.provenance[key];
  const classes = ['cell'];
  if (!present) classes.push('missing');
  else if (value === null) classes.push('blank');
  if (marks.has(key)) classes.push(`sev-${marks.get(key)}`);
  if (isLowConfidence(provenance)) classes.push('low-confidence');
  if (provenance?.method === 'manual') classes.push('manual');
  if (key.endsWith('.total') || key.includes('.total.')) classes.push('total');
  const text = !present ? '缺失' : value === null ? '空' : formatNumber(value);
  return h('td', {class: classes.join(' '), 'data-key': key, tabindex: 0}, text);
}

function block(title, table) {
  return h('section', {class: 'table-block'}, h('h3', {}, title), h('div', {class: 'table-scroll'}, table));
}

/** Consecutive table 2 rows under the same 第二十条 item and with the same columns. */
function table2Groups(rows) {
  const groups = [];
  for (const row of rows) {
    const shape = `${row.item}|${row.columns.map((c) => c.key).join(',')}`;
    if (groups.at(-1)?.shape === shape) groups.at(-1).rows.push(row);
    else groups.push({shape, item: row.item, columns: row.columns, rows: [row]});
  }
  return groups;
}

function table2(template, title, cell) {
  const width = Math.max(...template.table2.map((row) => row.columns.length));
  const span = (i, columns) => (i === columns.length - 1 ? width - columns.length + 1 : 1);
  const body = [];
  for (const group of table2Groups(template.table2)) {
    body.push(h('tr', {class: 'item-row'}, h('th', {colspan: width + 1}, `第二十条第（${group.item}）项`)));
    body.push(h('tr', {}, h('th', {class: 'row-label'}, '信息内容'),
      group.columns.map((c, i) => h('th', {colspan: span(i, group.columns)}, c.label))));
    for (const row of group.rows) {
      body.push(h('tr', {}, h('th', {class: 'row-label'}, row.label), group.columns.map((c, i) => {
        const td = cell(`t2.${row.key}.${c.key}`);
        td.colSpan = span(i, group.columns);
        return td;
      })));
    }
  }
  return block(title, h('table', {class: 'report-table t2'}, h('tbody', {}, body)));
}

/** Label cells of one table 3 row: ungrouped rows span all three label columns; grouped rows sit
 *  under the outer group (三、本年度办理结果) and, when nested, under their own group too. */
function table3Labels(rows, index, groups, outer) {
  const row = rows[index];
  if (row.group === null) return [h('th', {colspan: 3, class: 'row-label'}, row.label)];
  const cells = [];
  const startsRun = index === 0 || rows[index - 1].group === null;
  if (startsRun) {
    let length = 0;
    while (rows[index + length]?.group) length += 1;
    cells.push(h('th', {rowspan: length, class: 'group-label'}, groups.get(row.group)?.label ?? ''));
  }
  if (row.group === outer(index)) return [...cells, h('th', {colspan: 2, class: 'row-label'}, row.label)];
  if (rows[index - 1]?.group !== row.group) {
    const size = rows.filter((r) => r.group === row.group).length;
    cells.push(h('th', {rowspan: size, class: 'group-label sub'}, groups.get(row.group)?.label ?? ''));
  }
  return [...cells, h('th', {class: 'row-label'}, row.label)];
}

function table3(template, columns, title, cell) {
  const rows = template.table3_rows;
  const groups = new Map(template.table3_groups.map((g) => [g.key, g]));
  const outer = (index) => {  // the group of the first row of the run this row belongs to
    let i = index;
    while (i > 0 && rows[i - 1].group) i -= 1;
    return rows[i].group;
  };
  const head = h('tr', {}, h('th', {colspan: 3, class: 'corner'}), columns.map((c) => h('th', {}, c.label)));
  const body = rows.map((row, i) => h('tr', {}, table3Labels(rows, i, groups, outer),
    columns.map((c) => cell(`t3.${row.key}.${c.key}`))));
  return block(title, h('table', {class: 'report-table t3'}, h('thead', {}, head), h('tbody', {}, body)));
}

/** Table 4 header: a group label "行政诉讼·未经复议直接起诉" prints as 行政诉讼 over 未经复议直接起诉. */
function table4Head(groups, outcomes) {
  const parts = groups.map((g) => g.label.split('·'));
  const top = [];
  const sub = [];
  parts.forEach(([upper, lower], i) => {
    if (lower === undefined) {
      top.push(h('th', {colspan: outcomes.length, rowspan: 2}, upper));
      return;
    }
    if (parts[i - 1]?.[0] === upper && parts[i - 1].length > 1) top.at(-1).colSpan += outcomes.length;
    else top.push(h('th', {colspan: outcomes.length}, upper));
    sub.push(h('th', {colspan: outcomes.length}, lower));
  });
  const third = groups.flatMap(() => outcomes.map((o) => h('th', {class: 'outcome'}, o.label)));
  return h('thead', {}, h('tr', {}, top), sub.length ? h('tr', {}, sub) : null, h('tr', {}, third));
}

function table4(layout, title, cell) {
  const {table4_groups: groups, table4_outcomes: outcomes} = layout;
  const values = h('tr', {}, groups.flatMap((g) => outcomes.map((o) => cell(`t4.${g.key}.${o.key}`))));
  return block(title, h('table', {class: 'report-table t4'}, table4Head(groups, outcomes), h('tbody', {}, values)));
}

/** Every key of the template in printed order, with words to describe it in the side panel. */
export function describeFields(layout, templateId) {
  const template = layout.templates[templateId];
  const titles = layout.table_titles;
  const names = new Map();
  for (const row of template.table2) {
    for (const c of row.columns) names.set(`t2.${row.key}.${c.key}`, [titles.t2, row.label, c.label]);
  }
  const groups = new Map(template.table3_groups.map((g) => [g.key, g.label]));
  const rows = template.table3_rows;
  const outer = new Set(rows.filter((r, i) => r.group && !rows[i - 1]?.group).map((r) => r.group));
  for (const row of rows) {
    const label = row.group && !outer.has(row.group) ? `${groups.get(row.group)} ${row.label}` : row.label;
    for (const c of layout.table3_columns) names.set(`t3.${row.key}.${c.key}`, [titles.t3, label, c.label]);
  }
  for (const g of layout.table4_groups) {
    for (const o of layout.table4_outcomes) names.set(`t4.${g.key}.${o.key}`, [titles.t4, g.label, o.label]);
  }
  return names;
}

/** The three tables of a report as DOM, plus any field the template does not have. */
export function renderTables(layout, report) {
  const templateId = layout.templates[report.meta?.template] ? report.meta.template : Object.keys(layout.templates)[0];
  const template = layout.templates[templateId];
  const marks = severities(report.findings);
  const cell = (key) => valueCell(key, report, marks);
  const titles = layout.table_titles;
  const known = describeFields(layout, templateId);
  const extra = Object.keys(report.fields).filter((key) => !known.has(key));
  return [
    table2(template, titles.t2, cell),
    table3(template, layout.table3_columns, titles.t3, cell),
    table4(layout, titles.t4, cell),
    extra.length ? block('模板以外的字段', h('table', {class: 'report-table extra'}, h('tbody', {},
      extra.map((key) => h('tr', {}, h('th', {class: 'row-label'}, key), cell(key)))))) : null,
  ];
}
