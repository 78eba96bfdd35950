// The live dashboard of `ordergate serve`: vanilla JavaScript, no dependency, no build.
//
// Rules kept throughout:
// - Data reaches the DOM only as text (textContent, setAttribute of fixed attribute names):
//   venue error texts, order IDs and kill-switch reasons are untrusted. innerHTML is never
//   used; the page's Content-Security-Policy forbids inline script besides.
// - The token lives in this tab's sessionStorage only; it is sent as a header, never put
//   in a URL and never logged.
// - Money stays a string as the API gives it: shown, never parsed into a float.
"use strict";

const TOKEN_KEY = "ordergate.token";
const AUDIT_LINES = 200;     // the audit stream keeps the newest this many lines
const FILL_ROWS = 50;
const DRIFT_ROWS = 50;
const SLOW_REFRESH_MS = 10000;  // the REST panels, when no event has asked sooner
const EVENT_REFRESH_MS = 250;   // a burst of events is one refresh
const RECONNECT_MS = [500, 1000, 2000, 5000, 10000];
const REFRESHING = new Set(["order_transition", "fill", "position_opened", "position_changed",
  "position_closed", "position_adopted", "order_adopted", "trading_state", "venue_circuit",
  "venue_disabled", "venue_error", "account_status", "allocation_decided", "allocation_failover"]);

// ---- small DOM helpers (text only) ----

const $ = (id) => document.getElementById(id);

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  return node;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    if (cell instanceof Node) {
      const td = document.createElement("td");
      td.appendChild(cell);
      tr.appendChild(td);
    } else if (cell && typeof cell === "object") {
      tr.appendChild(el("td", cell.text, cell.attrs));
    } else {
      tr.appendChild(el("td", cell === null || cell === undefined ? "–" : cell));
    }
  }
  return tr;
}

function fillBody(table, rows, empty, columns) {
  const body = $(table).tBodies[0];
  body.replaceChildren(...rows);
  if (!rows.length) body.appendChild(row([{ text: empty, attrs: { colspan: columns, class: "empty" } }]));
}

function clock(ts) {
  // "2026-01-02T00:10:00.123+00:00" -> "00:10:00"; the whole stamp is in the title.
  if (typeof ts !== "string") return "–";
  const match = /T(\d\d:\d\d:\d\d)/.exec(ts);
  return match ? match[1] : ts;
}

function timeCell(ts) {
  return { text: clock(ts), attrs: { title: ts || "", class: "time" } };
}

const num = (text) => ({ text: text === null || text === undefined ? "–" : text, attrs: { class: "num" } });

// A decision's tone: how the audit stream and the badges colour it.
const TONES = {
  bad: ["deny", "invalid", "error", "failing", "disabled", "REJECTED", "EXPIRED", "HALTED",
    "open", "unresolved", "exceeded", "missing", "unknown"],
  warn: ["partial_fill", "REDUCING", "paused", "half_open", "CANCEL_PENDING", "CANCELLED", "adopted",
    "inferred", "drift"],
  good: ["admit", "fill", "ACTIVE", "closed", "recovered", "FILLED", "ACCEPTED", "opened"],
};

function tone(decision, event) {
  if (event === "reconciliation_drift" || event === "system_error") return "bad";
  for (const [name, words] of Object.entries(TONES)) if (words.includes(decision)) return name;
  return "muted";
}

// ---- the API ----

class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem && typeof problem.detail === "string" ? problem.detail
      : problem && typeof problem.title === "string" ? problem.title : "no detail";
    super(`${status}: ${detail}`);
    this.status = status;
    this.problem = problem;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const held = token();
  if (held) headers.Authorization = `Bearer ${held}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store", credentials: "omit",
  });
  let parsed = null;
  try {
    parsed = await response.json();
  } catch (_) {
    parsed = null;  // not JSON: the status alone tells what went wrong
  }
  if (!response.ok && !(path === "/v1/health" && response.status === 503)) {
    if (response.status === 401) onUnauthorized(new ApiError(401, parsed));
    throw new ApiError(response.status, parsed);
  }
  return { status: response.status, body: parsed };
}

function say(id, text, toneName) {
  const node = $(id);
  node.textContent = text || "";
  node.dataset.tone = toneName || "muted";
}

// ---- the panels ----

function renderHealth(health) {
  const status = health.status || "unknown";
  const pill = $("health-status");
  pill.textContent = `health: ${status}`;
  pill.dataset.tone = status === "ok" ? "good" : status === "degraded" ? "warn" : "bad";
  renderState(health.trading_state);
  const loop = health.control_loop || {};
  const facts = [["control loop", loop.alive ? "running" : "NOT RUNNING"],
    ["last tick", clock(loop.last_tick_at)],
    ["journal", health.journal && health.journal.writable ? "writable" : "NOT WRITABLE"]];
  $("loop").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", k), el("dd", v)]));
  const venues = Object.entries(health.venues || {}).sort(([a], [b]) => (a < b ? -1 : 1));
  fillBody("venues", venues.map(([name, v]) => row([
    name,
    { text: v.enabled ? "yes" : `no: ${v.disabled_reason || "disabled"}`,
      attrs: { "data-tone": v.enabled ? "good" : "bad" } },
    { text: v.breaker || "not guarded", attrs: { "data-tone": v.breaker === "closed" ? "good"
      : v.breaker ? "bad" : "muted", title: v.retry_at ? `retry at ${v.retry_at}` : "" } },
    v.consecutive_failures,
    timeCell(v.last_success_at),
    rateLimit(v.rate_limit),
  ])), "no venue configured", 6);
}

// The venue's request budget as health reports it (`rate_limit`); a server that does not
// report it yet gets a plain "not reported", and unknown keys are shown as they are.
function rateLimit(limit) {
  if (!limit || typeof limit !== "object") return { text: "not reported", attrs: { class: "muted" } };
  const box = el("div", null, { class: "rate" });
  const { tokens, burst, rate_per_s: rate, configured_rate_per_s: configured } = limit;
  if (typeof tokens === "number" && typeof burst === "number" && burst > 0) {
    const share = Math.max(0, Math.min(1, tokens / burst));
    const meter = el("meter", null, { min: 0, max: 1, low: 0.2, high: 0.5, optimum: 1,
      value: share.toFixed(3), title: `${tokens} of ${burst} requests available now` });
    box.appendChild(meter);
    box.appendChild(el("span", `${tokens}/${burst}`));
  }
  if (rate !== undefined) {
    const reduced = typeof configured === "number" && typeof rate === "number" && rate < configured;
    box.appendChild(el("span", `${rate}/s${reduced ? ` (of ${configured}/s)` : ""}`,
      { "data-tone": reduced ? "warn" : "muted" }));
  }
  if (limit.blocked_until) box.appendChild(el("span", `blocked until ${clock(limit.blocked_until)}`,
    { "data-tone": "bad", title: limit.blocked_until }));
  const known = new Set(["tokens", "burst", "rate_per_s", "configured_rate_per_s", "blocked_until"]);
  for (const [key, value] of Object.entries(limit)) {
    if (!known.has(key)) box.appendChild(el("span", `${key}: ${JSON.stringify(value)}`, { class: "muted" }));
  }
  return box;
}

function renderState(state) {
  const badge = $("trading-state");
  badge.textContent = state || "unknown";
  badge.dataset.state = state || "";
  for (const button of document.querySelectorAll(".switch button")) {
    button.setAttribute("aria-pressed", String(button.dataset.target === state));
  }
}

function renderOrders(orders) {
  $("orders-count").textContent = `(${orders.length})`;
  fillBody("orders", orders.map((o) => {
    const cancel = el("button", "Cancel", { type: "button", class: "cancel",
      "data-order": o.client_order_id, title: `cancel ${o.client_order_id}` });
    cancel.addEventListener("click", () => cancelOrder(o.client_order_id, cancel));
    const tr = row([timeCell(o.created_at), o.account, o.venue, o.symbol,
      { text: o.side, attrs: { "data-side": o.side } }, o.type, lineage(o), num(o.quantity),
      num(o.filled_quantity), priceCell(o), { text: o.state, attrs: { "data-tone": tone(o.state) } },
      { text: o.client_order_id, attrs: { class: "id" } }, cancel]);
    tr.dataset.order = o.client_order_id;
    return tr;
  }), "no working order", 13);
}

// A stop's price is its trigger (and, for a stop_limit, the limit it then rests at): an
// operator looking at a protective stop needs to see where it fires, not a dash.
function priceCell(o) {
  const trigger = o.trigger_price;
  if (trigger === null || trigger === undefined) return num(o.price);
  const limit = o.price === null || o.price === undefined ? "" : `${o.price} `;
  return { text: `${limit}stop ${trigger}`, attrs: { class: "num", "data-trigger": String(trigger),
    title: `triggers at ${trigger}` + (limit ? `, then a limit at ${o.price}` : ", then at market") } };
}

// What an order is to the intent it serves: a signal's own order, or a bracket's exit, an
// amendment or a TWAP slice of the order it names (its parent's ID, in full in the title).
function lineage(o) {
  if (!o.parent_id || o.role === "primary") {
    return { text: o.reduce_only ? "primary, reduce-only" : "primary", attrs: { "data-role": "primary" } };
  }
  return { text: `${o.role} ${o.leg} of …${o.parent_id.slice(-6)}`,
    attrs: { "data-role": o.role, "data-parent": o.parent_id, title: `parent ${o.parent_id}` } };
}

function renderPositions(positions) {
  const sorted = [...positions].sort((a, b) =>
    (a.account + a.venue + a.symbol < b.account + b.venue + b.symbol ? -1 : 1));
  fillBody("positions", sorted.map((p) => {
    const pnl = String(p.realized_pnl);
    const fees = Object.entries(p.fees || {}).map(([c, a]) => `${a} ${c}`).join(", ");
    const marked = p.marked_at ? `last seen ${clock(p.marked_at)}` : "no mid seen yet";
    const open = p.unrealized_pnl === null || p.unrealized_pnl === undefined ? null
      : String(p.unrealized_pnl);
    return row([p.account, p.venue, p.symbol,
      { text: p.quantity, attrs: { class: "num", "data-sign": sign(p.quantity) } },
      derived(p.average_entry), derived(pnl, { "data-sign": sign(roundDecimal(pnl, DERIVED_PLACES)) }),
      { text: p.mark === null || p.mark === undefined ? "–" : p.mark, attrs: { class: "num", title: marked } },
      open === null ? num(null) : derived(open, { "data-sign": sign(roundDecimal(open, DERIVED_PLACES)), title: marked }),
      fees || "–"]);
  }), "no position", 9);
}

// A derived amount (an average entry, a realized PnL) as the audit log shows it: rounded
// half-up to `places` decimals, from its text through BigInt, never through a float. The
// API gives such amounts at full precision (28 digits); the exact text stays in the title.
function roundDecimal(text, places) {
  const m = /^(-?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(String(text).trim());
  if (!m) return String(text);
  const frac = m[3] || "";
  let digits = m[2] + frac;
  let scale = frac.length - Number(m[4] || 0);
  if (scale < 0) { digits += "0".repeat(-scale); scale = 0; }
  if (scale > places) {
    const divisor = 10n ** BigInt(scale - places);
    let q = BigInt(digits) / divisor;
    if (2n * (BigInt(digits) % divisor) >= divisor) q += 1n;
    digits = q.toString();
    scale = places;
  }
  digits = digits.padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale).replace(/^0+(?=\d)/, "");
  const negative = m[1] === "-" && /[1-9]/.test(digits);
  return `${negative ? "-" : ""}${whole}${scale ? `.${digits.slice(digits.length - scale)}` : ""}`;
}

const DERIVED_PLACES = 8;

function derived(text, attrs) {
  return { text: roundDecimal(text, DERIVED_PLACES), attrs: { class: "num", title: String(text), ...(attrs || {}) } };
}

// The sign of a decimal string, read from its text (never through a float).
function sign(text) {
  const s = String(text).trim();
  if (s.startsWith("-")) return /[1-9]/.test(s) ? "neg" : "zero";
  return /[1-9]/.test(s) ? "pos" : "zero";
}

function prepend(table, tr, keep) {
  const body = $(table).tBodies[0];
  const placeholder = body.querySelector(".empty");
  if (placeholder) placeholder.parentElement.remove();
  body.insertBefore(tr, body.firstChild);
  while (body.rows.length > keep) body.deleteRow(body.rows.length - 1);
}

function onFill(line) {
  const side = /^(buy|sell)\b/.exec(line.reason || "");
  const fee = line.fee === undefined ? "–" : `${line.fee} ${line.fee_currency || ""}`.trim();
  const tr = row([timeCell(line.ts), line.symbol, { text: side ? side[1] : "?",
    attrs: { "data-side": side ? side[1] : "" } }, num(line.quantity), num(line.price),
  num(fee), { text: line.decision, attrs: { "data-tone": tone(line.decision) } }]);
  tr.title = `${line.client_order_id || ""} ${line.trade_id || ""}`.trim();
  prepend("fills", tr, FILL_ROWS);
}

function onDrift(line) {
  prepend("drift", row([timeCell(line.ts), line.venue, line.account_id,
    { text: line.decision, attrs: { "data-tone": "bad" } },
    { text: line.reason, attrs: { class: "reason" } }]), DRIFT_ROWS);
}

function auditItem(line) {
  const li = el("li", null, { "data-tone": tone(line.decision, line.event), "data-event": line.event || "" });
  li.appendChild(el("span", clock(line.ts), { class: "time", title: line.ts || "" }));
  li.appendChild(el("span", line.event, { class: "event" }));
  li.appendChild(el("span", line.decision, { class: "decision" }));
  if (line.handler) li.appendChild(el("span", line.handler, { class: "handler" }));
  li.appendChild(el("span", line.reason, { class: "reason" }));
  const ids = [line.signal_id, line.client_order_id].filter(Boolean).join(" · ");
  if (ids) li.appendChild(el("span", ids, { class: "id" }));
  return li;
}

function addAudit(li) {
  const list = $("audit");
  list.insertBefore(li, list.firstChild);
  while (list.children.length > AUDIT_LINES) list.lastChild.remove();
}

// A notice of the stream itself (gap, overflow, shutdown), shown in the audit list so the
// operator sees exactly where lines may be missing.
function streamNotice(event) {
  let data = {};
  try { data = JSON.parse(event.data); } catch (_) { data = {}; }
  if (event.type === "gap" && data.last_event_id === 0) return;  // our own request for history
  const text = event.type === "gap"
    ? `gap: ${data.missed === null || data.missed === undefined ? "an unknown number of" : data.missed} line(s) missed; ${data.reason || ""}`
    : `${event.type}: ${data.reason || "the stream ended"}; resuming from ${data.last_event_id}`;
  const li = el("li", null, { "data-tone": "warn", "data-event": `stream-${event.type}` });
  li.appendChild(el("span", "stream", { class: "event" }));
  li.appendChild(el("span", text, { class: "reason" }));
  addAudit(li);
  refreshSoon();  // lines may have been missed: the REST panels are the truth
}

function onStreamEvent(event) {
  if (event.type !== "message") return streamNotice(event);
  let line;
  try {
    line = JSON.parse(event.data);
  } catch (_) {
    const li = el("li", null, { "data-tone": "bad" });
    li.appendChild(el("span", "unreadable line", { class: "event" }));
    li.appendChild(el("span", event.data.slice(0, 300), { class: "reason" }));
    return addAudit(li);
  }
  addAudit(auditItem(line));
  if (line.event === "fill") onFill(line);
  else if (line.event === "reconciliation_drift") onDrift(line);
  else if (line.event === "trading_state") renderState(line.decision);
  if (REFRESHING.has(line.event)) refreshSoon();
}

// ---- refresh ----

let refreshTimer = null;
let slowTimer = null;

function refreshSoon() {
  if (refreshTimer === null) refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, EVENT_REFRESH_MS);
}

async function refresh() {
  const tasks = [
    api("GET", "/v1/health").then((r) => renderHealth(r.body)),
    api("GET", "/v1/orders?state=open&limit=500").then((r) => {
      renderOrders(r.body.orders);
      if (r.body.next_cursor) say("orders-message", "showing the newest 500 working orders", "warn");
    }),
    api("GET", "/v1/positions").then((r) => renderPositions(r.body.positions)),
  ];
  if (window.ordergateAccounts) tasks.push(window.ordergateAccounts.refresh());  // accounts.js
  const results = await Promise.allSettled(tasks);
  const failed = results.filter((r) => r.status === "rejected").map((r) => r.reason.message);
  const pill = $("health-status");
  if (failed.length) {
    pill.dataset.tone = "bad";
    pill.title = `refresh failed: ${failed.join("; ")}`;
  } else {
    pill.title = `refreshed at ${new Date().toLocaleTimeString()}`;
  }
}

// ---- actions ----

async function cancelOrder(id, button) {
  button.disabled = true;
  button.textContent = "Cancelling…";
  try {
    const { status, body } = await api("DELETE", `/v1/orders/${encodeURIComponent(id)}`);
    say("orders-message", status === 202 ? `cancel of ${id} sent; the venue has not confirmed yet`
      : `${id} is ${body.state}`, "good");
  } catch (error) {
    say("orders-message", `cancel of ${id} refused: ${error.message}`, "bad");
    button.disabled = false;
    button.textContent = "Cancel";
  }
  refreshSoon();
}

let pendingTarget = null;

function askKillSwitch(target) {
  pendingTarget = target;
  $("confirm-target").textContent = target;
  $("confirm-reason").value = "";
  $("confirm").showModal();
  $("confirm-reason").focus();
}

async function moveKillSwitch(target, reason) {
  say("state-message", `moving to ${target}…`, "muted");
  try {
    const { body } = await api("POST", "/v1/trading-state", { state: target, reason });
    renderState(body.state);
    say("state-message", body.changed ? `${body.previous} -> ${body.state} by ${body.by}`
      : `already ${body.state}`, "good");
  } catch (error) {
    const why = error.status === 403 ? `Refused: ${error.problem && error.problem.detail
      ? error.problem.detail : "this token may not move the kill switch"} (an admin token is needed)`
      : `Refused: ${error.message}`;
    say("state-message", why, "bad");
  }
  refreshSoon();
}

// ---- connect / forget ----

let stream = null;

function onUnauthorized(error) {
  disconnect();
  say("login-error", `The token was refused: ${error.message}`, "bad");
}

function disconnect() {
  sessionStorage.removeItem(TOKEN_KEY);
  if (stream) stream.stop();
  stream = null;
  clearInterval(slowTimer);
  $("board").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("whoami").textContent = "";
  say("stream-status", "stream: not connected", "muted");
}

async function connect() {
  // A read proves the token before the board opens: an unknown one is told at once.
  try {
    await api("GET", "/v1/positions");
  } catch (error) {
    if (error.status !== 401) say("login-error", `Cannot connect: ${error.message}`, "bad");
    if (error.status !== 401) disconnect();
    return;
  }
  say("login-error", "", "muted");
  $("login").hidden = true;
  $("board").hidden = false;
  $("logout").hidden = false;
  $("whoami").textContent = "token held in this tab";
  $("audit").replaceChildren();
  for (const id of ["fills", "drift"]) fillBody(id, [], id === "fills" ? "no fill yet" : "no drift", id === "fills" ? 7 : 5);
  stream = new EventStream(onStreamEvent, (text, toneName) => say("stream-status", `stream: ${text}`, toneName));
  stream.start();
  refresh();
  slowTimer = setInterval(refresh, SLOW_REFRESH_MS);
}

function main() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    $("token").value = "";
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    connect();
  });
  $("logout").addEventListener("click", disconnect);
  for (const button of document.querySelectorAll(".switch button")) {
    button.addEventListener("click", () => askKillSwitch(button.dataset.target));
  }
  $("confirm-cancel").addEventListener("click", () => { pendingTarget = null; $("confirm").close(); });
  $("confirm-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = $("confirm-reason").value.trim();
    if (!reason || pendingTarget === null) return;
    const target = pendingTarget;
    pendingTarget = null;
    $("confirm").close();
    moveKillSwitch(target, reason);
  });
  if (token()) connect();
}

// For the browser tests: the stream parser (to be fed chunks split anywhere), the rounding.
window.ordergateDashboard = { SseParser, roundDecimal };

document.addEventListener("DOMContentLoaded", main);
