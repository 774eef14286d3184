/* Live updates without a reload: poll the page's JSON endpoint, update the adherence
   cells and counts in place, rebuild the live tables from the column specs in their
   headers, and tick the breach countdowns every second against the server's clock. */
(function () {
  "use strict";
  var body = document.body;
  var api = body.dataset.api;
  var refresh = Number(body.dataset.refresh || 0) * 1000;
  var tz = body.dataset.tz || "UTC";
  var serverNow = Date.parse(body.dataset.now || "") || Date.now();
  var fetchedAt = Date.now();
  var ICON = { "meets": "\u2713", "below": "\u2717", "no-data": "", "no-target": "\u00b7" };
  var STATE = {  /* as web.pages.STATE_TEXT */
    running: "\u25b6 running", paused: "\u2016 paused", breached: "\u2717 breached", met: "\u2713 met",
    done: "\u2713 written to the PSA", would_fire: "\u25cc not written (shadow mode)",
    failed: "\u2717 the PSA refused it", firing: "\u2026 being written now",
    planned: "\u2026 scheduled", cancelled: "\u2013 not needed (resolved in time)",
    dormant: "\u2013 not needed now", fired: "\u2713 done", pending: "\u2026 scheduled"
  };
  var names = {}, links = {};
  var REASON = {
    deleted: "deleted in the PSA", merged: "merged into another ticket",
    spam: "marked as spam", out_of_scope: "moved out of scope"
  };
  var parts;
  try {
    parts = new Intl.DateTimeFormat("en-GB", { timeZone: tz, weekday: "short", day: "2-digit",
      month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  } catch (e) { parts = null; }

  function when(iso) {
    if (!iso) { return "\u2013"; }
    if (!parts) { return iso; }
    var p = {};
    parts.formatToParts(new Date(iso)).forEach(function (x) { p[x.type] = x.value; });
    return p.weekday + " " + p.day + " " + p.month + " " + p.hour + ":" + p.minute;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clockText(seconds) {
    var total = Math.floor(seconds);
    var d = Math.floor(total / 86400), h = Math.floor(total % 86400 / 3600);
    var m = Math.floor(total % 3600 / 60), s = total % 60;
    if (d) { return d + "d " + h + "h " + pad(m) + "m"; }
    if (h) { return h + "h " + pad(m) + "m " + pad(s) + "s"; }
    return m + "m " + pad(s) + "s";
  }
  function duration(seconds) {  /* as core.durations.format_seconds */
    if (seconds === null || seconds === undefined) { return "\u2013"; }
    var sign = seconds < 0 ? "-" : "", total = Math.round(Math.abs(seconds));
    var d = Math.floor(total / 86400), h = Math.floor(total % 86400 / 3600);
    var m = Math.floor(total % 3600 / 60), s = total % 60;
    if (d) { return sign + d + "d " + h + "h " + pad(m) + "m"; }
    if (h) { return sign + h + "h " + pad(m) + "m"; }
    if (m) { return sign + m + "m" + (s ? " " + pad(s) + "s" : ""); }
    return sign + s + "s";
  }
  function nowMs() { return serverNow + (Date.now() - fetchedAt); }
  function tick() {
    var els = document.querySelectorAll("[data-due]");
    for (var i = 0; i < els.length; i++) {
      var left = (Date.parse(els[i].dataset.due) - nowMs()) / 1000;
      els[i].textContent = left >= 0 ? "breaches in " + clockText(left) : "overdue by " + clockText(-left);
    }
  }
  function byTestId(id) { return document.querySelector('[data-testid="' + (window.CSS && CSS.escape ? CSS.escape(id) : id) + '"]'); }
  function setText(id, value) { var el = byTestId(id); if (el) { el.textContent = String(value); } }
  function setCell(id, cell) {
    var el = byTestId(id);
    if (!el || !cell) { return; }
    el.className = "cell status-" + cell.status;
    el.dataset.status = cell.status;
    el.dataset.met = cell.met;
    el.dataset.breached = cell.breached;
    el.querySelector(".icon").textContent = ICON[cell.status] || "";
    el.querySelector(".value").textContent = cell.text;
    el.querySelector(".verdict").textContent = cell.label;
  }
  function link(href, text) { var a = document.createElement("a"); a.href = href; a.textContent = text; return a; }
  function ticketLinks(row, id) {
    var span = document.createElement("span");
    span.appendChild(link(row.url, row.source + "/" + id));
    var template = links[row.source];
    if (template) {
      var psa = link(template.split("{id}").join(encodeURIComponent(id)), "open in PSA");
      psa.className = "psa"; psa.rel = "noopener noreferrer";
      span.appendChild(document.createTextNode(" ")); span.appendChild(psa);
    }
    return span;
  }
  function timeEl(iso, text, due) {
    var t = document.createElement("time");
    t.setAttribute("datetime", iso);
    if (due) { t.className = "countdown"; t.dataset.due = iso; }
    t.textContent = text;
    return t;
  }
  function content(format, key, row) {
    var v = row[key];
    switch (format) {
      case "ticket": return ticketLinks(row, v);
      case "client": return link("/clients/" + encodeURIComponent(v), names[v] || v);
      case "percent": return v === null ? "\u2013" : Math.round(v * 100) + "%";
      case "countdown": return v ? timeEl(v, "", true) : "\u2013";
      case "time": return v ? timeEl(v, when(v), false) : "\u2013";
      case "state": return STATE[v] || v;
      case "timing":
        if (!row.fired_at) { return "\u2013"; }
        return v ? "\u26a0 late by " + duration(row.lateness_seconds) : "on time";
      case "duration": return duration(v);
      case "yesno": return v ? "yes" : "no";
      case "names": return v && v.length ? v.join(", ") : "\u2013";
      case "reason": return REASON[v] || v;
      case "steps":
        return v && v.length ? v.map(function (e) { return e.step + " (" + (STATE[e.state] || e.state) + ")"; }).join(", ") : "\u2013";
      default: return v === null || v === undefined ? "\u2013" : String(v);
    }
  }
  function renderTable(table, rows) {
    var heads = table.tHead.rows[0].cells;
    var tbody = table.tBodies[0];
    var fresh = document.createElement("tbody");
    if (!rows.length) {
      var tr0 = document.createElement("tr"), td0 = document.createElement("td");
      tr0.className = "empty"; td0.colSpan = heads.length;
      td0.textContent = table.dataset.empty || "None.";
      tr0.appendChild(td0); fresh.appendChild(tr0);
    }
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      for (var i = 0; i < heads.length; i++) {
        var td = document.createElement("td");
        var c = content(heads[i].dataset.format, heads[i].dataset.key, row);
        if (typeof c === "string") { td.textContent = c; } else { td.appendChild(c); }
        tr.appendChild(td);
      }
      fresh.appendChild(tr);
    });
    table.replaceChild(fresh, tbody);
  }
  function apply(data) {
    serverNow = Date.parse(data.now);
    names = data.client_names || names;
    links = data.psa_links || links;
    fetchedAt = Date.now();
    var asof = document.getElementById("asof");
    if (asof) { asof.setAttribute("datetime", data.now); asof.textContent = when(data.now); }
    var blocks = data.clients || (data.client ? [data.client] : []);
    blocks.forEach(function (block) {
      block.tiers.forEach(function (line) {
        var base = line.client + "-" + line.tier;
        Object.keys(line.adherence).forEach(function (kind) {
          Object.keys(line.adherence[kind]).forEach(function (win) {
            setCell("adherence-" + base + "-" + kind + "-" + win, line.adherence[kind][win]);
          });
        });
        setText("open-" + base, line.open);
        setText("atrisk-" + base, line.at_risk);
        setText("breachedopen-" + base, line.breached_open);
      });
    });
    if (data.open_total !== undefined) {
      setText("total-open", data.open_total);
      setText("total-at-risk", data.at_risk_total);
      setText("total-breached-open", data.breached_open_total);
      setText("evidence", data.evidence_ok ? "\u2713 verified" : "\u2717 chain broken");
    }
    var tables = document.querySelectorAll("table[data-live]");
    for (var i = 0; i < tables.length; i++) {
      var rows = data[tables[i].dataset.live];
      if (rows) { renderTable(tables[i], rows); }
    }
    tick();
  }
  var status = document.getElementById("live-status");
  function say(text) { if (status && status.textContent !== text) { status.textContent = text; } }
  function poll() {
    fetch(api, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (data) { apply(data); say("live"); })
      .catch(function (e) { say("update failed (" + e.message + "); retrying"); });
  }
  tick();
  setInterval(tick, 1000);
  if (api && refresh > 0) { setInterval(poll, refresh); }
}());
