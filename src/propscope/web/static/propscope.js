// propscope workbench: progressive enhancement only. Pages work without this file.
// Article text reaches the DOM only through textContent, never innerHTML.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function spansData() {
    var node = document.getElementById("spans-data");
    return node ? JSON.parse(node.textContent) : [];
  }

  function chosen(form) {
    var boxes = form.querySelectorAll("input[data-technique]");
    var on = {};
    boxes.forEach(function (b) { if (b.checked) { on[b.dataset.technique] = true; } });
    var min = parseFloat(form.querySelector("#min-score").value || "0");
    return { on: on, min: min };
  }

  function visibleSet(spans, filter) {
    var ok = {};
    spans.forEach(function (s) { ok[s.i] = !!filter.on[s.technique] && s.score >= filter.min; });
    return ok;
  }

  function restyle(mark, spans, ok) {
    var ids = mark.dataset.spans.split(" ").map(Number).filter(function (i) { return ok[i]; });
    ids.sort(function (a, b) { return (spans[a].end - spans[a].start) - (spans[b].end - spans[b].start); });
    mark.className = "";
    if (!ids.length) { mark.classList.add("off"); mark.removeAttribute("tabindex"); return; }
    mark.setAttribute("tabindex", "0");
    mark.classList.add("hl", spans[ids[0]].css);
    if (ids.length > 1) { mark.classList.add("multi", "u-" + spans[ids[1]].css.slice(2)); }
  }

  function applyFilters(form, spans) {
    var filter = chosen(form);
    var ok = visibleSet(spans, filter);
    document.querySelectorAll("#article mark").forEach(function (m) { restyle(m, spans, ok); });
    document.querySelectorAll("#article sup.tag").forEach(function (t) { t.hidden = !ok[Number(t.dataset.span)]; });
    var shown = spans.filter(function (s) { return ok[s.i]; }).length;
    document.getElementById("shown-n").textContent = String(shown);
    var out = document.getElementById("min-score-out");
    if (out) { out.textContent = filter.min.toFixed(2); }
    form.querySelectorAll("[data-count]").forEach(function (n) {
      var name = n.dataset.count;
      var total = spans.filter(function (s) { return s.technique === name; }).length;
      var vis = spans.filter(function (s) { return s.technique === name && ok[s.i]; }).length;
      n.textContent = vis === total ? String(total) : vis + "/" + total;
    });
  }

  function tipFor(tip, mark, spans) {
    var form = document.getElementById("filters");
    var ok = form ? visibleSet(spans, chosen(form)) : null;
    var ids = mark.dataset.spans.split(" ").map(Number).filter(function (i) { return !ok || ok[i]; });
    if (!ids.length) { return false; }
    tip.replaceChildren();
    ids.forEach(function (i) {
      var s = spans[i];
      var t = document.createElement("span");
      t.className = "t " + s.css;
      t.textContent = s.number + " · " + s.label + " — score " + s.score.toFixed(2);
      var d = document.createElement("span");
      d.className = "d";
      d.textContent = s.definition || "";
      tip.append(t, d);
    });
    return true;
  }

  function place(tip, mark) {
    var r = mark.getBoundingClientRect();
    tip.style.left = Math.max(4, Math.min(r.left + window.scrollX, window.scrollX + document.documentElement.clientWidth - tip.offsetWidth - 4)) + "px";
    tip.style.top = (r.bottom + window.scrollY + 6) + "px";
  }

  function setupTips(spans) {
    var tip = document.getElementById("tip");
    var article = document.getElementById("article");
    if (!tip || !article) { return; }
    article.querySelectorAll("mark[title]").forEach(function (m) { m.removeAttribute("title"); });
    function show(ev) {
      var mark = ev.target.closest("mark");
      if (!mark || mark.classList.contains("off")) { return; }
      if (!tipFor(tip, mark, spans)) { return; }
      tip.hidden = false;
      tip.dataset.by = ev.type === "mouseover" ? "mouse" : "focus";
      mark.setAttribute("aria-describedby", "tip");
      place(tip, mark);
    }
    function hideFor(kind) {
      return function () { if (!kind || tip.dataset.by === kind) { tip.hidden = true; } };
    }
    article.addEventListener("mouseover", show);
    article.addEventListener("click", show);  // a tap on a phone
    article.addEventListener("focusin", show);
    article.addEventListener("mouseleave", hideFor("mouse"));
    article.addEventListener("focusout", hideFor("focus"));
    document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { hideFor(null)(); } });
  }

  function setupJumps() {
    document.querySelectorAll("a.jump").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        var from = Number(a.dataset.from), to = Number(a.dataset.to);
        var hits = [];
        document.querySelectorAll("#article [data-s]").forEach(function (p) {
          var s = Number(p.dataset.s), e = Number(p.dataset.e);
          var on = s >= from && e <= to;
          p.classList.toggle("focus", on);
          if (on) { hits.push(p); }
        });
        if (hits.length) {
          ev.preventDefault();
          hits[0].scrollIntoView({ block: "center" });
          hits[0].setAttribute("tabindex", "-1");
          hits[0].focus({ preventScroll: true });
          history.replaceState(null, "", "#at-" + from);
        }
      });
    });
  }

  function setupFilters(spans) {
    var form = document.getElementById("filters");
    if (!form) { return; }
    form.addEventListener("change", function () { applyFilters(form, spans); });
    form.addEventListener("input", function () { applyFilters(form, spans); });
    form.addEventListener("submit", function (ev) { ev.preventDefault(); applyFilters(form, spans); });
  }

  function setupBusy() {
    var form = document.getElementById("analyze-form");
    if (!form) { return; }
    form.addEventListener("submit", function () {
      var busy = document.getElementById("busy");
      if (busy) { busy.hidden = false; }
      form.querySelector("button[type=submit]").disabled = true;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var spans = spansData();
    setupFilters(spans);
    setupTips(spans);
    setupJumps();
    setupBusy();
  });
})();
