/* The clerk's console: actions, keyboard shortcuts, live state from /counter.
 * The page is rendered by the server; this script re-renders the same parts from
 * GET /api/windows/<n>/state whenever something changes, so a reload always shows
 * the window exactly as the server has it (nothing is kept in the browser). */
(function () {
  "use strict";
  var body = document.body;
  var WINDOW = parseInt(body.getAttribute("data-window"), 10);
  var KEYS = JSON.parse(body.getAttribute("data-keys") || "[]");
  var state = null;
  var busy = false;
  var closing = false;

  function $(id) { return document.getElementById(id); }
  var setText = Hall.setText;
  function show(id, on) { var el = $(id); if (el) el.hidden = !on; }

  // --- rendering -----------------------------------------------------------------
  function render(s) {
    state = s;
    Hall.setServerNow(s.now);
    if (!s.mine) {
      // Signed out: by us (签退) or by a supervisor (强制签退).
      location.replace(closing ? "/counter" : "/counter#forced");
      if (!closing) location.reload();
      return;
    }
    body.classList.remove("win-open", "win-paused", "win-closed");
    body.classList.add("win-" + s.state);
    var stateText = s.state_text + (s.state === "paused" && s.pause_reason ? "（" + s.pause_reason + "）" : "");
    var ws = $("win-state");
    ws.textContent = stateText;
    ws.className = "win-state state-" + s.state;
    show("paused-banner", s.state === "paused");
    setText("paused-reason", s.pause_reason ? "（" + s.pause_reason + "）" : "");
    setText("st-served", s.stats.served);
    setText("st-avg", s.stats.avg_service_text);
    setText("st-noshow", s.stats.no_show);

    var c = s.current;
    $("current").setAttribute("data-status", c ? c.status : "none");
    setText("cur-number", c ? c.number : "—");
    setText("cur-service", c ? c.service_name : "");
    show("cur-status", !!c);
    setText("cur-status", c ? c.status_text : "");
    show("cur-priority", !!(c && c.priority));
    setText("cur-priority", c && c.priority ? "绿色通道" + (c.priority_reason ? "：" + c.priority_reason : "") : "");
    show("cur-times", !!c);
    show("cur-case-box", !!c);
    if (!c || String(c.id) !== $("cur-case").getAttribute("data-ticket")) {
      $("cur-case").value = "";  // the case number belongs to the ticket in hand
      $("cur-case").setAttribute("data-ticket", c ? String(c.id) : "");
    }
    show("cur-empty", !c);
    if (c) {
      setText("cur-waited", c.waited_text);
      setText("timer-label", c.timer_label);
      setText("cur-calls", c.calls + "次");
      $("cur-timer").setAttribute("data-start", c.timer_start || "");
      var tr = c.transfer;
      show("cur-transfer", !!tr);
      if (tr) {
        setText("cur-transfer", "转入：" + (tr.from_window_name || "") +
          (tr.from_service_name ? "（原业务 " + tr.from_service_name + "）" : "") +
          (tr.note ? "　备注：" + tr.note : ""));
      }
      var j = c.journey;
      show("cur-journey", !!j);
      if (j) {
        var nextStep = j.steps[j.step + 1];
        setText("cur-journey", "一件事：" + j.name + "　第" + (j.step + 1) + "/" + j.steps.length + "步" +
          (nextStep ? "，办结后转" + nextStep.name : ""));
      }
    } else {
      show("cur-transfer", false);
      show("cur-journey", false);
      $("cur-timer").setAttribute("data-start", "");
    }
    tickTimer();
    renderQueue(s.queue);
    renderParked(s.parked || []);
    renderButtons();
  }

  function renderQueue(q) {
    setText("q-total", q.total);
    var list = $("q-services");
    var transfer = list.querySelector(".tier-transfer");
    list.querySelectorAll("li:not(.tier-transfer)").forEach(function (li) { li.remove(); });
    q.services.forEach(function (svc) {
      var li = document.createElement("li");
      li.className = "tier-" + svc.tier;
      var n = document.createElement("span"); n.className = "q-name"; n.textContent = svc.name;
      var t = document.createElement("span"); t.className = "q-tier"; t.textContent = svc.tier === "primary" ? "主办" : "兼办";
      var b = document.createElement("b"); b.textContent = svc.waiting;
      li.append(n, t, b);
      list.insertBefore(li, transfer);
    });
    transfer.hidden = !q.transferred_in;
    setText("q-transferred", q.transferred_in);
    var next = $("q-next");
    next.textContent = "";
    if (!q.next.length) {
      var none = document.createElement("li"); none.className = "none"; none.textContent = "暂无等候";
      next.append(none);
    }
    q.next.forEach(function (t) {
      var li = document.createElement("li");
      if (t.priority) li.className = "priority";
      var b = document.createElement("b"); b.textContent = t.number;
      var sp = document.createElement("span"); sp.textContent = t.service_name;
      li.append(b, sp);
      if (t.priority || t.transferred) {
        var em = document.createElement("em"); em.textContent = t.priority ? "优先" : "转入";
        li.append(em);
      }
      next.append(li);
    });
  }

  // Parked (挂起) tickets of this window: each with a 恢复 button.
  function renderParked(list) {
    show("parked-panel", list.length > 0);
    setText("parked-count", list.length);
    var ul = $("parked-list");
    ul.textContent = "";
    list.forEach(function (t) {
      var li = document.createElement("li");
      li.setAttribute("data-id", t.id);
      var b = document.createElement("b"); b.textContent = t.number;
      var sp = document.createElement("span");
      sp.textContent = t.service_name + (t.reason ? "（" + t.reason + "）" : "");
      var btn = document.createElement("button");
      btn.type = "button"; btn.className = "btn small js-resume"; btn.textContent = "恢复";
      btn.setAttribute("data-id", t.id); btn.setAttribute("data-number", t.number);
      li.append(b, sp, btn);
      ul.append(li);
    });
    renderResume();
  }
  function renderResume() {
    var free = state && state.state === "open" && !state.current;
    document.querySelectorAll(".js-resume").forEach(function (b) {
      b.disabled = busy || !free;
      b.title = free ? "" : "请先办结或挂起当前号";
    });
  }
  $("parked-list").addEventListener("click", function (e) {
    var b = e.target.closest(".js-resume");
    if (!b || b.disabled || busy) return;
    run(Hall.api("POST", "/api/tickets/" + b.getAttribute("data-id") + "/resume"),
      "已恢复办理 " + b.getAttribute("data-number"));
  });

  function enabled(action) {
    if (!state) return false;
    var c = state.current, st = c ? c.status : null;
    switch (action) {
      case "call": return state.state === "open" && !c;
      case "recall": case "noshow": case "start": return st === "called";
      case "finish": case "transfer": case "park": return st === "called" || st === "serving";
      case "choose": return state.state === "open" && !c;
      default: return true;
    }
  }

  function renderButtons() {
    KEYS.forEach(function (k) {
      var btn = $("btn-" + k.action);
      if (btn) btn.disabled = busy || !enabled(k.action);
    });
    renderResume();
    var label = $("btn-pause").querySelector(".act-label");
    label.textContent = state && state.state === "paused" ? "恢复服务" : "暂停";
  }

  function tickTimer() {
    var el = $("cur-timer");
    var start = el.getAttribute("data-start");
    if (!start) { el.textContent = "00:00"; return; }
    el.textContent = Hall.duration((Hall.serverNow() - Date.parse(start)) / 1000);
  }
  setInterval(tickTimer, 500);

  var refreshTimer = null;
  function refresh() {
    return Hall.api("GET", "/api/windows/" + WINDOW + "/state").then(render, function (e) {
      if (e.status === 401) { location.reload(); return; }
      Hall.toast("刷新失败：" + e.message);
    });
  }
  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 120);
  }

  // --- actions ---------------------------------------------------------------------
  function run(promise, okText) {
    busy = true;
    renderButtons();
    return promise.then(function (data) {
      if (okText) Hall.toast(typeof okText === "function" ? okText(data) : okText, "ok");
      return data;
    }, function (e) {
      Hall.toast(e.message);
    }).then(function () {
      busy = false;
      return refresh();
    }).then(function () {
      // A key pressed while the last action was on its way runs now, on fresh state.
      var next = queued;
      queued = null;
      if (next) act(next);
    });
  }

  function ticketAction(path, okText) {
    var c = state && state.current;
    if (!c) return;
    return run(Hall.api("POST", "/api/tickets/" + c.id + "/" + path), okText);
  }

  var ACTIONS = {
    call: function () {
      return run(Hall.api("POST", "/api/windows/" + WINDOW + "/call-next"), function (d) {
        return d.ticket ? "已叫号 " + d.ticket.number : "暂无等候的号";
      });
    },
    recall: function () { return ticketAction("recall", "已重呼 " + state.current.number); },
    start: function () { return ticketAction("start", "开始办理 " + state.current.number); },
    noshow: function () { return ticketAction("no-show", state.current.number + " 已过号"); },
    finish: function () {
      // 办件编号 typed or scanned (a scanner types it, then Enter: ignored in the field).
      var c = state && state.current;
      if (!c) return;
      var caseNo = $("cur-case").value.trim();
      return run(Hall.api("POST", "/api/tickets/" + c.id + "/finish", caseNo ? { case_no: caseNo } : {}),
        c.number + " 已办结，请群众在评价器上评价");
    },
    transfer: function () { openTransfer(); },
    pause: function () {
      if (state.state === "paused") {
        return run(Hall.api("POST", "/api/windows/" + WINDOW + "/open"), "已恢复服务");
      }
      openPause();
    },
    close: function () { openDialog($("dlg-close")); },
    park: function () { openPark(); },
    choose: function () { openChoose(); }
  };

  var queued = null;
  function act(action) {
    if (!state) return;
    if (busy) { queued = action; return; }
    if (!enabled(action)) {
      var why = {
        call: state.state === "paused" ? "暂停服务中，按 F6 恢复后再叫号" :
          "请先处理当前号 " + (state.current ? state.current.number : ""),
        recall: "没有可重呼的号", noshow: "没有可过号的号", start: "没有已叫号的号",
        finish: "没有办理中的号", transfer: "没有可转办的号", park: "没有可挂起的号",
        choose: state.state === "paused" ? "暂停服务中，按 F6 恢复后再叫号" :
          "请先处理当前号 " + (state.current ? state.current.number : "")
      }[action];
      if (why) Hall.toast(why);
      return;
    }
    ACTIONS[action]();
  }

  document.querySelectorAll(".act").forEach(function (btn) {
    btn.addEventListener("click", function () { act(btn.getAttribute("data-action")); });
  });

  // --- dialogs -----------------------------------------------------------------------
  var openDlg = null;
  function openDialog(dlg) {
    openDlg = dlg;
    dlg.showModal();
  }
  function closeDialog() {
    if (openDlg && openDlg.open) openDlg.close();
    openDlg = null;
  }
  document.querySelectorAll(".dlg").forEach(function (dlg) {
    dlg.addEventListener("close", function () { if (openDlg === dlg) openDlg = null; });
    dlg.querySelectorAll("[data-close]").forEach(function (b) { b.addEventListener("click", closeDialog); });
  });

  // Pause: pick a reason (digit keys), Enter confirms.
  var pauseReason = null;
  function openPause() {
    pauseReason = null;
    $("pause-ok").disabled = true;
    $("pause-other-label").hidden = true;
    $("pause-other").value = "";
    document.querySelectorAll("#pause-reasons .chip").forEach(function (c) { c.classList.remove("selected"); });
    openDialog($("dlg-pause"));
  }
  function choosePause(chip) {
    document.querySelectorAll("#pause-reasons .chip").forEach(function (c) { c.classList.toggle("selected", c === chip); });
    pauseReason = chip.getAttribute("data-reason");
    $("pause-ok").disabled = false;
    var other = pauseReason === "其他";
    $("pause-other-label").hidden = !other;
    if (other) $("pause-other").focus();
  }
  function submitPause() {
    if (!pauseReason) return;
    var extra = $("pause-other").value.trim();
    var reason = pauseReason === "其他" && extra ? extra : pauseReason;
    closeDialog();
    run(Hall.api("POST", "/api/windows/" + WINDOW + "/pause", { reason: reason }), "已暂停服务（" + reason + "）");
  }
  document.querySelectorAll("#pause-reasons .chip").forEach(function (chip) {
    chip.addEventListener("click", function () { choosePause(chip); });
  });
  $("pause-ok").addEventListener("click", submitPause);

  // Transfer: window or service, typed number selects, Enter confirms.
  var mode = "window", typed = "", picked = null;
  function setMode(m) {
    mode = m;
    $("tab-window").classList.toggle("active", m === "window");
    $("tab-service").classList.toggle("active", m === "service");
    $("opt-window").hidden = m !== "window";
    $("opt-service").hidden = m !== "service";
    typed = "";
    pick(null);
  }
  function pick(btn) {
    picked = btn;
    document.querySelectorAll("#dlg-transfer .opt").forEach(function (o) { o.classList.toggle("selected", o === btn); });
    $("transfer-ok").disabled = !btn;
    setText("transfer-typed", typed || (btn ? btn.getAttribute("data-code") : "—"));
  }
  function pickTyped() {
    var box = $(mode === "window" ? "opt-window" : "opt-service");
    var btn = box.querySelector('.opt[data-code="' + typed + '"]');
    pick(btn);
    setText("transfer-typed", typed || "—");
  }
  function openTransfer() {
    setText("transfer-number", state.current.number);
    $("transfer-note").value = "";
    setMode("window");
    openDialog($("dlg-transfer"));
  }
  function submitTransfer() {
    if (!picked || !state.current) return;
    var kind = picked.getAttribute("data-kind"), value = picked.getAttribute("data-value");
    var payload = { note: $("transfer-note").value.trim() };
    if (kind === "window") payload.window = parseInt(value, 10); else payload.service = value;
    var label = picked.textContent.replace(/^\s*\d+/, "").trim();
    var id = state.current.id, number = state.current.number;
    closeDialog();
    run(Hall.api("POST", "/api/tickets/" + id + "/transfer", payload), number + " 已转至 " + label);
  }
  document.querySelectorAll("#dlg-transfer .tab").forEach(function (t) {
    t.addEventListener("click", function () { setMode(t.getAttribute("data-mode")); });
  });
  document.querySelectorAll("#dlg-transfer .opt").forEach(function (o) {
    o.addEventListener("click", function () { typed = ""; pick(o); });
  });
  $("transfer-ok").addEventListener("click", submitTransfer);

  // Park (挂起): pick a reason (digit keys), Enter confirms.
  var parkReason = null;
  function openPark() {
    parkReason = null;
    setText("park-number", state.current.number);
    $("park-ok").disabled = true;
    document.querySelectorAll("#park-reasons .chip").forEach(function (c) { c.classList.remove("selected"); });
    openDialog($("dlg-park"));
  }
  function choosePark(chip) {
    document.querySelectorAll("#park-reasons .chip").forEach(function (c) { c.classList.toggle("selected", c === chip); });
    parkReason = chip.getAttribute("data-reason");
    $("park-ok").disabled = false;
  }
  function submitPark() {
    if (!parkReason || !state.current) return;
    var id = state.current.id, number = state.current.number;
    closeDialog();
    run(Hall.api("POST", "/api/tickets/" + id + "/park", { reason: parkReason }),
      number + " 已挂起（" + parkReason + "），可继续叫号");
  }
  document.querySelectorAll("#park-reasons .chip").forEach(function (chip) {
    chip.addEventListener("click", function () { choosePark(chip); });
  });
  $("park-ok").addEventListener("click", submitPark);

  // Choose (选号叫号): a waiting ticket this window may serve, and a reason.
  var chosen = null, chooseReason = null;
  function chooseReady() {
    var other = chooseReason === "其他";
    var reason = other ? $("choose-other").value.trim() : chooseReason;
    $("choose-ok").disabled = !chosen || !reason;
    return reason;
  }
  function openChoose() {
    chosen = null; chooseReason = null;
    $("choose-other").value = "";
    $("choose-other-label").hidden = true;
    document.querySelectorAll("#choose-reasons .chip").forEach(function (c) { c.classList.remove("selected"); });
    var box = $("choose-list");
    box.textContent = "加载中…";
    chooseReady();
    openDialog($("dlg-choose"));
    Hall.api("GET", "/api/windows/" + WINDOW + "/callable").then(function (list) {
      box.textContent = "";
      if (!list.length) {
        var p = document.createElement("p"); p.className = "none"; p.textContent = "暂无等候的号";
        box.append(p);
      }
      list.forEach(function (t) {
        var o = document.createElement("button");
        o.type = "button"; o.className = "opt"; o.setAttribute("data-id", t.id);
        o.setAttribute("data-number", t.number);
        var b = document.createElement("b"); b.textContent = t.number;
        var sp = document.createElement("span"); sp.textContent = t.service_name;
        var sm = document.createElement("small");
        sm.textContent = "已等" + t.waited_text + (t.priority ? " · 优先" : "") +
          (t.journey ? " · 联办" : "") + (t.skill ? " · 资质" : "");
        o.append(b, sp, sm);
        box.append(o);
      });
    }, function (e) { box.textContent = e.message; });
  }
  $("choose-list").addEventListener("click", function (e) {
    var o = e.target.closest(".opt");
    if (!o) return;
    chosen = o;
    document.querySelectorAll("#choose-list .opt").forEach(function (x) { x.classList.toggle("selected", x === o); });
    chooseReady();
  });
  document.querySelectorAll("#choose-reasons .chip").forEach(function (chip) {
    chip.addEventListener("click", function () {
      document.querySelectorAll("#choose-reasons .chip").forEach(function (c) { c.classList.toggle("selected", c === chip); });
      chooseReason = chip.getAttribute("data-reason");
      var other = chooseReason === "其他";
      $("choose-other-label").hidden = !other;
      if (other) $("choose-other").focus();
      chooseReady();
    });
  });
  $("choose-other").addEventListener("input", chooseReady);
  function submitChoose() {
    var reason = chooseReady();
    if (!chosen || !reason) return;
    var id = parseInt(chosen.getAttribute("data-id"), 10), number = chosen.getAttribute("data-number");
    closeDialog();
    run(Hall.api("POST", "/api/windows/" + WINDOW + "/call", { ticket: id, reason: reason }),
      "已叫号 " + number + "（" + reason + "）");
  }
  $("choose-ok").addEventListener("click", submitChoose);

  function submitClose() {
    closeDialog();
    closing = true;
    run(Hall.api("POST", "/api/windows/" + WINDOW + "/close"), "已签退").then(function () { closing = false; });
  }
  $("close-ok").addEventListener("click", submitClose);

  function digitOf(e) {
    var m = /^(?:Digit|Numpad)(\d)$/.exec(e.code);
    return m ? m[1] : null;
  }
  function isEnter(e) { return e.key === "Enter" || e.code === "Enter" || e.code === "NumpadEnter"; }
  function isCancel(e) { return e.key === "Escape" || e.code === "NumpadDecimal"; }

  function dialogKey(e) {
    var dlg = openDlg;
    var inText = e.target && (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA");
    if (isCancel(e)) { e.preventDefault(); closeDialog(); return; }
    if (dlg.id === "dlg-close") {
      if (isEnter(e)) { e.preventDefault(); submitClose(); }
      return;
    }
    if (dlg.id === "dlg-pause") {
      var d = inText ? null : digitOf(e);
      if (d) {
        e.preventDefault();
        var chip = dlg.querySelector('.chip[data-index="' + d + '"]');
        if (chip) {
          choosePause(chip);
          if (pauseReason !== "其他") submitPause();
        }
      } else if (isEnter(e)) { e.preventDefault(); submitPause(); }
      return;
    }
    if (dlg.id === "dlg-park") {
      var dp = inText ? null : digitOf(e);
      if (dp) {
        e.preventDefault();
        var pc = dlg.querySelector('.chip[data-index="' + dp + '"]');
        if (pc) choosePark(pc);
      } else if (isEnter(e)) { e.preventDefault(); submitPark(); }
      return;
    }
    if (dlg.id === "dlg-choose") {
      if (isEnter(e)) { e.preventDefault(); submitChoose(); }
      return;
    }
    if (dlg.id === "dlg-transfer") {
      if (isEnter(e)) { e.preventDefault(); submitTransfer(); return; }
      if (inText) return;
      if (e.key === "+" || e.code === "NumpadAdd") {
        e.preventDefault(); setMode(mode === "window" ? "service" : "window"); return;
      }
      var dt = digitOf(e);
      if (dt) { e.preventDefault(); typed = (typed + dt).slice(-3); pickTyped(); return; }
      if (e.key === "Backspace") { e.preventDefault(); typed = typed.slice(0, -1); pickTyped(); }
    }
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.altKey || e.metaKey) return; // leave browser shortcuts alone
    if (openDlg) {
      // F-keys never reach the browser from a dialog (F5 must not reload mid-transfer).
      if (/^F\d{1,2}$/.test(e.key)) e.preventDefault();
      dialogKey(e);
      return;
    }
    var tag = e.target && e.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA") return;
    var hit = null;
    KEYS.forEach(function (k) {
      if (k.keys.indexOf(e.code) >= 0 || (e.key === "Enter" && k.keys.indexOf("Enter") >= 0 && e.code !== "NumpadEnter") || k.keys.indexOf(e.key) >= 0) {
        if (!hit) hit = k.action;
      }
    });
    if (!hit) return;
    e.preventDefault();
    if (e.repeat) return; // a held key must not call twice
    act(hit);
  });

  // --- live ----------------------------------------------------------------------------
  // Every (re)connect joins the window's room again and re-reads the state.
  Hall.connect(
    "/counter",
    { ticket: scheduleRefresh, queue: scheduleRefresh, window: scheduleRefresh, called: scheduleRefresh },
    {
      snapshot: function (socket) {
        socket.emit("join", { window: WINDOW });
        scheduleRefresh();
      }
    }
  );
  setInterval(refresh, 20000);
  // The state the page was rendered with: keys work at once, before any fetch returns.
  render(JSON.parse(body.getAttribute("data-state")));
  body.setAttribute("data-ready", "1");
})();
