// A little help building DOM without innerHTML: every string from the
// network goes in as text, never as markup.

/**
 * h makes an element. attrs: "class", "text" (its textContent), "on" (an
 * object of event listeners), booleans set or leave an attribute, anything
 * else becomes an attribute. Children are nodes or strings (as text).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/** fill replaces the children of the element with id with nodes. */
export function fill(id, ...nodes) {
  const el = document.getElementById(id);
  if (el) el.replaceChildren(...nodes.flat().filter(Boolean));
  return el;
}

/** say shows a message (or clears it with '') in the element with id. */
export function say(id, text, kind = 'error') {
  const el = document.getElementById(id);
  if (!el) return;
  el.textContent = text;
  el.className = text ? `note ${kind}` : 'note';
}

/** copyButton is a button that copies text and says it did. */
export function copyButton(text, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'small', text: label });
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      b.textContent = 'Copied';
    } catch {
      b.textContent = 'Select and copy';
    }
    setTimeout(() => (b.textContent = label), 1500);
  });
  return b;
}
