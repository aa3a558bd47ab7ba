// careid technical conformance page: keeps the checklist live. Every few
// seconds it reads the product's conformance API (the same evidence the page
// was rendered from) and updates each item in place; changes are announced
// politely through the page's aria-live region. Without this script the page
// still works: reload it, or follow "Check again".
const POLL_MS = 4000;
const list = document.getElementById('conformance-checklist');
const live = document.getElementById('conformance-live');

// "2026-05-01T09:30:00Z" → "2026-05-01 at 09:30:00 UTC", as the server writes it
function whenText(iso) {
  return typeof iso === 'string' && iso.length === 20 ? `${iso.slice(0, 10)} at ${iso.slice(11, 19)} UTC` : '';
}

function setText(id, text) {
  const el = document.getElementById(id);
  if (el && el.textContent !== text) el.textContent = text;
}

function renderHint(hint, item) {
  hint.replaceChildren();
  if (item.met) {
    const time = document.createElement('time');
    time.dateTime = item.at;
    time.textContent = whenText(item.at);
    hint.append('Met on ', time, ` by client ${item.client_id}`);
  } else {
    hint.textContent = item.reason || '';
  }
}

function renderStatus(status, item) {
  status.replaceChildren();
  if (item.met) {
    status.className = 'nhsuk-task-list__status nhsuk-task-list__status--completed';
    status.textContent = 'Met';
  } else {
    const tag = document.createElement('strong');
    tag.className = 'nhsuk-tag nhsuk-tag--blue';
    tag.textContent = 'Not met';
    status.className = 'nhsuk-task-list__status';
    status.append(tag);
  }
}

/** Updates the page from the API's answer; returns what people should hear. */
function apply(data) {
  const said = [];
  for (const item of data.items || []) {
    const li = document.getElementById(`item-${item.id}`);
    const hint = document.getElementById(`hint-${item.id}`);
    const status = document.getElementById(`status-${item.id}`);
    if (!li || !hint || !status) continue;
    const was = li.dataset.met === 'true';
    const key = item.met ? `met ${item.at} ${item.client_id}` : `not ${item.reason}`;
    if (li.dataset.key === key) continue;
    li.dataset.key = key;
    li.dataset.met = String(!!item.met);
    renderHint(hint, item);
    renderStatus(status, item);
    if (item.met && !was) said.push(`${item.title}: met.`);
    else if (!item.met && was) said.push(`${item.title}: no longer met. ${item.reason || ''}`);
  }
  const stateEl = document.getElementById('conformance-state-text');
  if (stateEl && data.state_text && stateEl.textContent !== data.state_text) {
    stateEl.textContent = data.state_text;
    said.push(`Status: ${data.state_text}.`);
  }
  setText('conformance-count', `${data.met} of ${data.total}`);
  const checked = document.getElementById('conformance-checked-time');
  if (checked && data.evaluated_at) {
    checked.dateTime = data.evaluated_at;
    checked.textContent = whenText(data.evaluated_at);
  }
  return said.join(' ');
}

if (list && list.dataset.api) {
  setText('conformance-auto', ' The list updates by itself while this page is open.');
  let timer;
  let busy = false;
  let failures = 0;
  const poll = async () => {
    timer = undefined;
    if (document.hidden || busy) return; // resumed by visibilitychange
    busy = true;
    let done = false;
    try {
      const r = await fetch(list.dataset.api, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const data = await r.json();
      // data-met holds what is shown, so only real changes are announced
      const message = apply(data);
      if (message && live) live.textContent = message;
      failures = 0;
      done = data.state === 'achieved';
    } catch {
      failures += 1;
    } finally {
      busy = false;
    }
    if (!done) timer = setTimeout(poll, POLL_MS * Math.min(2 ** failures, 16));
  };
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !timer && !busy) poll();
  });
  timer = setTimeout(poll, POLL_MS);
}
