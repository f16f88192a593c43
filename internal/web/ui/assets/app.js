// The one script of the admin pages. Pages are rendered on the server and
// change nothing themselves: a form marked data-api is sent by this script
// to the JSON API, whose routes validate, authorise and audit. Attributes:
//   action         the API route
//   data-method    its method (POST when absent)
//   data-then      the page to go to on success; {name} is replaced by that
//                  member of the JSON answer (such as {id}); absent: reload
//   data-done      a message to show on the next page; {name} is replaced
//                  by that member of the JSON answer
//   data-show      instead of leaving the page: a selector of an element to
//                  reveal, whose [data-field] descendants get those members of
//                  the JSON answer as text (a list one per line); for what an
//                  answer shows only once, such as a secret
// Inputs are named by JSON path ("fields.first_name"); data-type on an
// input converts its value: number, bool (a checkbox, or the text true),
// list (comma-separated strings), ids (comma-separated numbers), json. A
// group of checkboxes of one name makes a list of the ticked values (data-item="number": of
// numbers). Empty text is left out unless the input has data-keep-empty.
// data-key on a control puts its value in the object its name names, under
// that key, unsplit (name="map" data-key="E-mail" makes {"map": {"E-mail": …}}).
// A radio with data-type="bool" is true when ticked, false otherwise.
// An element with data-array="path" makes a list of objects at path, one
// per element inside it marked data-row, from the row's controls; a row
// whose data-include checkbox is unticked is left out.
// A multipart form (enctype) is sent as it is, for uploads; with
// data-json-part="name", its controls go as JSON in a first part of that
// name, then its files.
'use strict';

(function () {
  function setPath(obj, path, value) {
    const parts = path.split('.');
    let o = obj;
    for (let i = 0; i < parts.length - 1; i++) {
      if (typeof o[parts[i]] !== 'object' || o[parts[i]] === null) o[parts[i]] = {};
      o = o[parts[i]];
    }
    o[parts[parts.length - 1]] = value;
  }

  function getPath(obj, path) {
    return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
  }

  class FieldError extends Error {
    constructor(field, message) { super(message); this.field = field; }
  }

  function convert(el, v, type) {
    switch (type) {
      case 'number': {
        const n = Number(v);
        if (!Number.isFinite(n)) throw new FieldError(el.name, 'not a number');
        return n;
      }
      case 'list': return v.split(',').map((s) => s.trim()).filter(Boolean);
      case 'ids': return v.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
      case 'json':
        try { return JSON.parse(v); } catch (e) { throw new FieldError(el.name, 'not valid JSON'); }
      case 'datetime': return new Date(v).toISOString();
      case 'bool': return v === 'true';
      default: return v;
    }
  }

  // collect puts the named controls of els into out (see the header).
  function collect(els, out) {
    for (const el of els) {
      if (!el.name || el.disabled || el.type === 'submit' || el.type === 'button' || el.type === 'file') continue;
      const type = el.dataset.type || '';
      if (el.type === 'checkbox' && type !== 'bool') {
        const list = getPath(out, el.name) || [];
        if (el.checked) list.push(convert(el, el.value, el.dataset.item));
        setPath(out, el.name, list);
        continue;
      }
      let v;
      if (el.type === 'checkbox' || (el.type === 'radio' && type === 'bool')) v = el.checked;
      else if (el.type === 'radio') { if (!el.checked) continue; v = el.value; }
      else if (el.multiple) v = Array.from(el.selectedOptions, (o) => convert(el, o.value, el.dataset.item));
      else {
        v = el.value;
        if (v === '' && !('keepEmpty' in el.dataset)) continue;
        v = convert(el, v, type);
      }
      if ('key' in el.dataset) {
        const o = getPath(out, el.name) || {};
        o[el.dataset.key] = v;
        v = o;
      }
      setPath(out, el.name, v);
    }
  }

  function formJSON(form) {
    const out = {};
    collect(Array.from(form.elements).filter((el) => !el.closest('[data-row]')), out);
    for (const box of form.querySelectorAll('[data-array]')) {
      const list = [];
      for (const row of box.querySelectorAll('[data-row]')) {
        const include = row.querySelector('[data-include]');
        if (include && !include.checked) continue;
        const o = {};
        collect(row.querySelectorAll('input, select, textarea'), o);
        list.push(o);
      }
      setPath(out, box.dataset.array, list);
    }
    return out;
  }

  function clearErrors(form) {
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const box = form.querySelector('.form-error');
    if (box) { box.hidden = true; box.textContent = ''; }
  }

  function showError(form, err) {
    let box = form.querySelector('.form-error');
    if (!box) {
      box = document.createElement('p');
      box.className = 'form-error';
      box.setAttribute('role', 'alert');
      form.append(box);
    }
    box.textContent = (err.field ? err.field + ': ' : '') + (err.message || 'The request failed.');
    box.hidden = false;
    const el = err.field && form.querySelector('[name="' + CSS.escape(err.field) + '"]');
    if (el) {
      el.setAttribute('aria-invalid', 'true');
      el.focus();
    }
  }

  async function send(form) {
    clearErrors(form);
    const headers = { Accept: 'application/json' };
    let body;
    try {
      if (form.enctype === 'multipart/form-data' && form.dataset.jsonPart) {
        body = new FormData();
        body.append(form.dataset.jsonPart, JSON.stringify(formJSON(form)));
        for (const el of form.querySelectorAll('input[type="file"][name]')) {
          for (const f of el.files) body.append(el.name, f, f.name);
        }
      } else if (form.enctype === 'multipart/form-data') {
        body = new FormData(form);
      } else {
        body = JSON.stringify(formJSON(form));
        headers['Content-Type'] = 'application/json';
      }
    } catch (e) {
      showError(form, { field: e.field, message: e.message });
      return;
    }
    const method = (form.dataset.method || 'POST').toUpperCase();
    const res = await fetch(form.getAttribute('action'), {
      method, headers, body: method === 'GET' ? undefined : body, credentials: 'same-origin',
    });
    let data = null;
    const text = await res.text();
    if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
    if (res.status === 401) { location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search)); return; }
    if (!res.ok) {
      showError(form, (data && data.error) || { message: res.status + ' ' + res.statusText });
      return;
    }
    if (form.dataset.show) { form.dispatchEvent(new CustomEvent('custos:answer', { bubbles: true, detail: data })); return; }
    const member = (k) => (data && data[k] != null ? String(data[k]) : '');
    if (form.dataset.done) sessionStorage.setItem('custos.flash', form.dataset.done.replace(/\{(\w+)\}/g, (_, k) => member(k)));
    const then = form.dataset.then;
    if (!then) { location.reload(); return; }
    location.assign(then.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(member(k))));
  }

  document.addEventListener('submit', (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-api')) return;
    ev.preventDefault();
    const buttons = form.querySelectorAll('button');
    for (const b of buttons) b.disabled = true;
    form.setAttribute('aria-busy', 'true');
    send(form)
      .catch((e) => showError(form, { message: e.message }))
      .finally(() => {
        for (const b of buttons) b.disabled = false;
        form.removeAttribute('aria-busy');
      });
  });

  // A message left by the page before (data-done).
  document.addEventListener('DOMContentLoaded', () => {
    const msg = sessionStorage.getItem('custos.flash');
    if (!msg) return;
    sessionStorage.removeItem('custos.flash');
    const p = document.createElement('p');
    p.className = 'flash';
    p.setAttribute('role', 'status');
    p.textContent = msg;
    const h1 = document.querySelector('main h1');
    if (h1) h1.after(p);
  });
})();

// ---- Configuration pages (fields, purposes, lists, notices, forms, imports).
// <input type="file" data-columns="ID">: when a CSV file is chosen, its
//   header line is read here in the browser (nothing is sent) and the
//   <template> inside the element #ID is cloned once per column into it:
//   [data-column-text] shows the column's name, a control marked
//   data-column gets it as its data-key, and ids (with the labels' for)
//   get the column's number. Any other file empties #ID.
// data-poll="URL" on an element: every two seconds the page asks URL (as
//   background work, which does not keep the session alive) and, while
//   the answer's data-poll-key member still equals data-poll-while, puts
//   the answer's members into the element's [data-poll-field="member"]
//   children; once it differs, the page reloads.
(function () {
  function csvHeader(text) {
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const counts = {};
    let quoted = false;
    for (const ch of text) {
      if (ch === '"') quoted = !quoted;
      else if (!quoted && (ch === '\n' || ch === '\r')) break;
      else if (!quoted) counts[ch] = (counts[ch] || 0) + 1;
    }
    let delim = ',';
    for (const d of [',', ';', '\t', '|']) if ((counts[d] || 0) > (counts[delim] || 0)) delim = d;
    const cells = [];
    let cell = '';
    quoted = false;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (quoted) {
        if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false; else cell += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === delim) { cells.push(cell); cell = ''; } else if (ch === '\n' || ch === '\r') break;
      else cell += ch;
    }
    cells.push(cell);
    return cells.map((c) => c.trim()).filter(Boolean);
  }

  document.addEventListener('change', async (ev) => {
    const input = ev.target;
    if (!(input instanceof HTMLInputElement) || input.type !== 'file' || !input.dataset.columns) return;
    const box = document.getElementById(input.dataset.columns);
    const tpl = box && box.querySelector('template');
    if (!tpl) return;
    for (const el of Array.from(box.children)) if (el !== tpl) el.remove();
    const file = input.files[0];
    if (!file || !/\.(csv|txt|tsv)$/i.test(file.name)) return;
    const columns = csvHeader(await file.slice(0, 65536).text());
    columns.forEach((col, i) => {
      const row = tpl.content.cloneNode(true);
      for (const el of row.querySelectorAll('[data-column-text]')) el.textContent = col;
      for (const el of row.querySelectorAll('[data-column]')) el.dataset.key = col;
      for (const el of row.querySelectorAll('[id]')) el.id += '-' + i;
      for (const el of row.querySelectorAll('label[for]')) el.htmlFor += '-' + i;
      box.append(row);
    });
  });

  document.addEventListener('DOMContentLoaded', () => {
    for (const el of document.querySelectorAll('[data-poll]')) {
      const tick = async () => {
        const res = await fetch(el.dataset.poll, {
          headers: { Accept: 'application/json', 'X-Custos-Background': '1' }, credentials: 'same-origin',
        });
        if (!res.ok) return;
        const data = await res.json();
        if (String(data[el.dataset.pollKey]) !== el.dataset.pollWhile) { location.reload(); return; }
        for (const f of el.querySelectorAll('[data-poll-field]')) {
          const v = data[f.dataset.pollField];
          if (v != null) f.textContent = String(v);
        }
        setTimeout(tick, 2000);
      };
      setTimeout(tick, 2000);
    }
  });
})();

// ---- Selections and conditional inputs (the contacts list's bulk actions).
// Before a form is sent, by this script or natively (a GET form such as a
// download):
//   data-checked="NAME"  on an input: its value becomes the values of the
//                        ticked checkboxes named NAME in the page, joined
//                        by commas; with data-none="message", a form with
//                        none ticked is not sent and shows the message
//   data-if="NAME=VALUE" on an input: it is sent only while the page's
//                        ticked radio button or checkbox named NAME has
//                        that value (otherwise it is disabled)
//   data-param="NAME"    on an input: not sent; its value replaces {NAME}
//                        in the form's action
(function () {
  function prepare(form) {
    for (const el of form.querySelectorAll('[data-if]')) {
      const [name, value] = el.dataset.if.split('=');
      const on = document.querySelector('input[name="' + CSS.escape(name) + '"]:checked');
      el.disabled = !on || on.value !== value;
    }
    for (const el of form.querySelectorAll('[data-checked]')) {
      if (el.disabled) continue;
      const ticked = document.querySelectorAll('input[type="checkbox"][name="' + CSS.escape(el.dataset.checked) + '"]:checked');
      el.value = Array.from(ticked, (c) => c.value).join(',');
      if (el.value === '' && el.dataset.none) return el.dataset.none;
    }
    const action = form.getAttribute('data-action') || form.getAttribute('action');
    if (/\{\w+\}/.test(action)) {
      form.setAttribute('data-action', action);
      form.setAttribute('action', action.replace(/\{(\w+)\}/g, (_, k) => {
        const el = form.querySelector('[data-param="' + k + '"]');
        return encodeURIComponent(el ? el.value : '');
      }));
    }
    return '';
  }

  // Capture: runs before the sending listener above.
  document.addEventListener('submit', (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement)) return;
    const refusal = prepare(form);
    if (!refusal) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    const box = form.querySelector('.form-error');
    if (box) { box.textContent = refusal; box.hidden = false; }
  }, true);
})();

// ---- data-show: an answer shown in the page (ui-admin) ----
(function () {
  document.addEventListener('custos:answer', (ev) => {
    const target = document.querySelector(ev.target.dataset.show);
    if (!target) return;
    const data = ev.detail || {};
    for (const el of target.querySelectorAll('[data-field]')) {
      const v = data[el.dataset.field];
      el.textContent = Array.isArray(v) ? v.join('\n') : (v == null ? '' : String(v));
    }
    ev.target.hidden = true;
    target.hidden = false;
    const focus = target.querySelector('input, [data-field]');
    if (focus) { if (!focus.matches('input')) focus.tabIndex = -1; focus.focus(); }
  });
})();
