// The dashboard's Accounts panel: the accounts of blocks ([accounts], [groups]) with each
// one's standing as the allocator would judge it (`GET /v1/accounts`), and a pause or
// resume button per account and per group (`POST /v1/accounts/{name}/status`, admin),
// which asks for a reason first, as the kill switch does.
//
// Loaded after dashboard.js and using its helpers ($, el, row, fillBody, api, say,
// roundDecimal, sign, refreshSoon); the same rules hold: text only into the DOM, money
// kept as the API's strings (rounded for display from their text, the exact figure in the
// title), the token never leaves the request header. dashboard.js's refresh() calls
// `ordergateAccounts.refresh()`, and an `account_status` or `allocation_decided` line on
// the stream asks for a refresh.
"use strict";

(() => {
  const MONEY_PLACES = 2;

  function money(text, attrs) {
    if (text === null || text === undefined) return { text: "unknown", attrs: { class: "num muted" } };
    return { text: roundDecimal(text, MONEY_PLACES), attrs: { class: "num", title: String(text), ...(attrs || {}) } };
  }

  // A fraction as a percentage with two places, from its text: "0.043" -> "4.30%".
  function percent(fraction) {
    const [whole, frac = ""] = roundDecimal(`${fraction}E2`, 2).split(".");
    return `${whole}.${frac.padEnd(2, "0")}%`;
  }

  function statusCell(status) {
    return { text: status, attrs: { "data-tone": status === "active" ? "good" : "warn", "data-status": status } };
  }

  function drawdownCell(a) {
    if (a.drawdown === null || a.drawdown === undefined) return { text: "unknown", attrs: { class: "num muted" } };
    return { text: `${percent(a.drawdown)} of ${percent(a.max_daily_drawdown)}`,
      attrs: { class: "num", title: `the day's loss over the start-of-day equity ${a.start_of_day_equity}`
        + (a.start_of_day_recorded ? "" : " (not recorded yet: the equity now)") } };
  }

  function budgetCell(a) {
    if (a.risk_budget === null || a.risk_budget === undefined) return { text: "no budget", attrs: { class: "num muted" } };
    return { text: `${roundDecimal(a.budget_left, MONEY_PLACES)} of ${roundDecimal(a.risk_budget, MONEY_PLACES)}`,
      attrs: { class: "num", title: `spent ${a.risk_spent} today` } };
  }

  function eligibleCell(a) {
    const box = el("span", null, { class: "eligible" });
    box.appendChild(el("span", a.eligible ? "eligible" : "not eligible",
      { class: "verdict", "data-tone": a.eligible ? "good" : "bad" }));
    box.appendChild(el("span", a.why, { class: "why" }));
    return box;
  }

  function actionButton(kind, name, status) {
    const pausing = status !== "paused";
    const button = el("button", pausing ? "Pause" : "Resume", { type: "button",
      class: pausing ? "pause" : "resume", "data-name": name, title: `${pausing ? "pause" : "resume"} ${kind} ${name}` });
    button.addEventListener("click", () => ask(kind, name, pausing ? "paused" : "active"));
    return button;
  }

  function render(body) {
    const accounts = body.accounts || [];
    const groups = body.groups || [];
    $("panel-accounts").hidden = !accounts.length && !groups.length;
    fillBody("accounts", accounts.map((a) => {
      const groupsText = (a.groups || []).map((g) => (g.status === "paused" ? `${g.group} (paused)` : g.group)).join(", ");
      const positions = a.max_open_positions === null || a.max_open_positions === undefined
        ? String(a.open_positions) : `${a.open_positions} of ${a.max_open_positions}`;
      const tr = row([a.account, statusCell(a.status), groupsText || "–",
        money(a.equity, { title: `${a.equity} ${a.currency || ""} at ${a.venue || "?"}; available margin ${a.available_margin}` }),
        money(a.day_pnl, { "data-sign": sign(roundDecimal(a.day_pnl, MONEY_PLACES)) }),
        drawdownCell(a), budgetCell(a), { text: positions, attrs: { class: "num" } },
        eligibleCell(a), actionButton("account", a.account, a.status)]);
      tr.dataset.account = a.account;
      tr.dataset.eligible = String(a.eligible);
      return tr;
    }), "no accounts configured", 10);
    fillBody("groups", groups.map((g) => {
      const tr = row([g.group, statusCell(g.status), g.policy, (g.accounts || []).join(", "),
        { text: `${g.eligible_accounts} of ${(g.accounts || []).length}`,
          attrs: { "data-tone": g.eligible_accounts ? "good" : "bad" } },
        actionButton("group", g.group, g.status)]);
      tr.dataset.group = g.group;
      return tr;
    }), "no group configured", 6);
  }

  async function refresh() {
    const { body } = await api("GET", "/v1/accounts");
    render(body);
  }

  let pending = null;

  function ask(kind, name, status) {
    pending = { kind, name, status };
    const pausing = status === "paused";
    $("account-verb").textContent = pausing ? "Pause" : "Resume";
    $("account-kind").textContent = kind;
    $("account-name").textContent = name;
    $("account-effect").textContent = pausing
      ? (kind === "group" ? "Its blocks are refused (ALLOCATION_GROUP_PAUSED) until it is resumed."
        : "It takes no new child of a block; its share goes to the group's other eligible accounts.")
      : "It takes blocks again from the next one.";
    $("account-cancel-row").hidden = !pausing;
    $("account-cancel-working").checked = false;
    $("account-reason").value = "";
    $("account-confirm").showModal();
    $("account-reason").focus();
  }

  async function send(target, reason, cancelWorking) {
    const verb = target.status === "paused" ? "pausing" : "resuming";
    say("accounts-message", `${verb} ${target.kind} ${target.name}…`, "muted");
    const body = { status: target.status, reason };
    if (cancelWorking) body.cancel_working = true;
    try {
      const { body: answer } = await api("POST", `/v1/accounts/${encodeURIComponent(target.name)}/status`, body);
      const cancelled = answer.cancelled && answer.cancelled.length
        ? `; cancelled ${answer.cancelled.length} working order(s)` : "";
      say("accounts-message", answer.changed
        ? `${answer.kind} ${answer.name}: ${answer.previous} -> ${answer.status} by ${answer.by}${cancelled}`
        : `${answer.kind} ${answer.name} is already ${answer.status}${cancelled}`, "good");
    } catch (error) {
      const why = error.status === 403 ? `Refused: ${error.problem && error.problem.detail
        ? error.problem.detail : "this token may not pause accounts"} (an admin token is needed)`
        : `Refused: ${error.message}`;
      say("accounts-message", why, "bad");
    }
    refreshSoon();
  }

  function wire() {
    $("account-dismiss").addEventListener("click", () => { pending = null; $("account-confirm").close(); });
    $("account-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const reason = $("account-reason").value.trim();
      if (!reason || pending === null) return;
      const target = pending;
      pending = null;
      const cancelWorking = target.status === "paused" && $("account-cancel-working").checked;
      $("account-confirm").close();
      send(target, reason, cancelWorking);
    });
  }

  window.ordergateAccounts = { refresh, render, percent };
  document.addEventListener("DOMContentLoaded", wire);
})();
