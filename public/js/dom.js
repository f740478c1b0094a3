// DOM helpers. Everything from the server goes in as text (textContent / text nodes), never as
// HTML: alert titles, usernames, audit reasons … are attacker-controlled.

export const $ = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing #${id}`);
  return element;
};

/**
 * h('td', { class: 'x', dataset: { id }, on: { click } }, 'text', child)
 * Strings become text nodes. Attributes that could run script or inline style are refused.
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (name === 'text') element.textContent = String(value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name === 'on') for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    else if (/^on/i.test(name) || name === 'style' || name === 'srcdoc') throw new Error(`refusing attribute ${name}`);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

export function show(element, visible = true) {
  element.hidden = !visible;
}

/** A message line under a form: kind is 'error' | 'ok' | 'info'. Empty text hides it. */
export function message(element, text, kind = 'error') {
  element.textContent = text ?? '';
  element.classList.remove('error', 'ok', 'info');
  if (text) element.classList.add(kind);
  element.hidden = !text;
}

const pad = (n) => String(n).padStart(2, '0');

/** "2025-03-01 14:05:09" in the viewer's time zone; the full ISO time in the title. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted', text: '—' });
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h('span', { text: String(iso) });
  const text = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return h('time', { datetime: date.toISOString(), title: date.toISOString(), text });
}

/** Styled confirmation (a <dialog>), resolves true when confirmed. */
export function confirmAction(text, okLabel = 'Confirm') {
  const dialog = $('confirm-dialog');
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}

/** Disables a button while an async action runs. */
export async function busy(button, action) {
  button.disabled = true;
  try {
    return await action();
  } finally {
    button.disabled = false;
  }
}

/**
 * Below 700 px the shared CSS shows table rows as cards, each cell labelled by its column
 * (td[data-label]). Cells a page did not label get their column header's text here, for every
 * table.grid under root, as rows come and go.
 */
export function labelTableCells(root) {
  const label = (table) => {
    const headers = [...(table.tHead?.rows[0]?.cells ?? [])].flatMap((th) => Array(th.colSpan || 1).fill(th.textContent.trim()));
    if (headers.length === 0) return;
    for (const body of table.tBodies) {
      for (const row of body.rows) {
        let column = 0;
        for (const cell of row.cells) {
          if (cell.tagName === 'TD' && !cell.hasAttribute('data-label') && cell.colSpan === 1 && headers[column]) cell.dataset.label = headers[column];
          column += cell.colSpan || 1;
        }
      }
    }
  };
  const labelAll = () => {
    for (const table of root.querySelectorAll('table.grid')) label(table);
  };
  labelAll();
  new MutationObserver(labelAll).observe(root, { childList: true, subtree: true });
}
