// The one script of the admin pages. Pages are rendered on the server and
// change nothing themselves: a form marked data-api is sent by this script
// to the JSON API, whose routes validate, authorise and audit. Attributes:
//   action         the API route
//   data-method    its method (POST when absent)
//   data-then      the page to go to on success; {name} is replaced by that
//                  member of the JSON answer (such as {id}); absent: reload
//   data-done      a message to show on the next page
//   data-show      instead of leaving the page: a selector of an element to
//                  reveal, whose [data-field] descendants get those members of
//                  the JSON answer as text (a list one per line); for what an
//                  answer shows only once, such as a secret
// Inputs are named by JSON path ("fields.first_name"); data-type on an
// input converts its value: number, bool (a checkbox), list (comma-separated
// strings), ids (comma-separated numbers), json. A group of checkboxes of
// one name makes a list of the ticked values (data-item="number": of
// numbers). Empty text is left out unless the input has data-keep-empty.
// A multipart form (enctype) is sent as it is, for uploads.
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
      default: return v;
    }
  }

  function formJSON(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.type === 'submit' || el.type === 'button') continue;
      const type = el.dataset.type || '';
      if (el.type === 'checkbox' && type !== 'bool') {
        const list = getPath(out, el.name) || [];
        if (el.checked) list.push(convert(el, el.value, el.dataset.item));
        setPath(out, el.name, list);
        continue;
      }
      let v;
      if (el.type === 'checkbox') v = el.checked;
      else if (el.type === 'radio') { if (!el.checked) continue; v = el.value; }
      else if (el.multiple) v = Array.from(el.selectedOptions, (o) => convert(el, o.value, el.dataset.item));
      else {
        v = el.value;
        if (v === '' && !('keepEmpty' in el.dataset)) continue;
        v = convert(el, v, type);
      }
      setPath(out, el.name, v);
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
      if (form.enctype === 'multipart/form-data') {
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
    if (form.dataset.done) sessionStorage.setItem('custos.flash', form.dataset.done);
    const then = form.dataset.then;
    if (!then) { location.reload(); return; }
    location.assign(then.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(data && data[k] != null ? data[k] : '')));
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
