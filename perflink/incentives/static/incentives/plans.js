/* Incentive plan editor: what the page does beyond htmx. The live check (htmx) answers with the path of the faulty
   part; this marks that field and lets the reader jump to it. It also keeps the band tables' "covers" column, the
   total weight and the units in step with what is typed. Plain JavaScript, no dependencies besides htmx. */
(function () {
  "use strict";

  function form() { return document.getElementById("plan-form"); }

  // "multipliers[0].then.bands[1].upto" -> "multipliers[0].then.bands[1]" -> … -> "".
  function parentPath(path) {
    if (path.endsWith("]")) return path.slice(0, path.lastIndexOf("["));
    var dot = path.lastIndexOf(".");
    return dot < 0 ? "" : path.slice(0, dot);
  }

  function byName(root, name) {
    var found = null;
    root.querySelectorAll("[name]").forEach(function (el) { if (!found && el.getAttribute("name") === name) found = el; });
    return found;
  }

  function byPath(root, path) {
    var found = null;
    root.querySelectorAll("[data-path]").forEach(function (el) { if (!found && el.getAttribute("data-path") === path) found = el; });
    return found;
  }

  // The field the path names, or the nearest row or part above it.
  function target(path) {
    var root = form();
    if (!root || !path) return null;
    while (path) {
      var el = byName(root, path);
      if (el && el.type !== "hidden") return el;
      el = byPath(root, path);
      if (el) return el;
      path = parentPath(path);
    }
    return null;
  }

  function clearFlags() {
    document.querySelectorAll(".pe-flag").forEach(function (el) { el.classList.remove("pe-flag"); });
  }

  function flag(path) {
    clearFlags();
    var el = target(path);
    if (!el) return null;
    var box = el.matches("input, select, textarea") ? (el.closest(".pe-field, .pe-check, .pe-radio") || el) : el;
    box.classList.add("pe-flag");
    var row = el.closest("tr");
    if (row && row !== box) row.classList.add("pe-flag");
    return el;
  }

  function goTo(path) {
    var el = flag(path);
    if (!el) return;
    el.scrollIntoView({ behavior: "smooth", block: "center" });
    var focusable = el.matches("input, select, textarea") ? el : el.querySelector("input, select, textarea");
    if (focusable) setTimeout(function () { focusable.focus({ preventScroll: true }); }, 250);
  }

  function checked() {
    var result = document.querySelector("#plan-check [data-check]");
    if (!result) return;
    if (result.dataset.check === "error" && result.dataset.errorPath) flag(result.dataset.errorPath);
    else clearFlags();
  }

  // What each band covers, from the bounds typed so far: "≤ 1", "1 < x ≤ 2", "> 2".
  function covers(table) {
    var rows = Array.prototype.filter.call(table.querySelectorAll("tbody tr.pe-band"), function () { return true; });
    var bounds = rows.map(function (row) {
      var upto = row.querySelector('[data-role="upto"]');
      var inclusive = row.querySelector('[data-role="inclusive"]');
      return { upto: upto ? (upto.value.trim() || "?") : null, inclusive: inclusive ? inclusive.checked : true };
    });
    rows.forEach(function (row, j) {
      var cell = row.querySelector('[data-role="reads"]');
      if (!cell) return;
      var b = bounds[j];
      var text;
      if (j === 0) text = (b.inclusive ? "≤ " : "< ") + b.upto;
      else {
        var p = bounds[j - 1];
        if (b.upto === null) text = (p.inclusive ? "> " : "≥ ") + p.upto;
        else if (b.upto === p.upto) text = "= " + b.upto;
        else text = p.upto + (p.inclusive ? " < x " : " ≤ x ") + (b.inclusive ? "≤ " : "< ") + b.upto;
      }
      cell.textContent = text;
    });
  }

  function totalWeight() {
    var cell = document.getElementById("pe-weight-total");
    if (!cell) return;
    var total = 0, bad = false;
    document.querySelectorAll('#pe-components [data-role="weight"]').forEach(function (input) {
      var text = input.value.replace(/[\s,，_]/g, "");
      if (!text) return;
      var n = Number(text);
      if (isNaN(n)) bad = true; else total += n;
    });
    var shown = bad ? "?" : String(Math.round(total * 1e6) / 1e6);
    cell.querySelector("strong").textContent = shown + "%";
    cell.dataset.bad = String(bad || Math.abs(total - 100) > 1e-9);
  }

  // Choosing an input fills an empty unit field with the metric's unit (天, %, 件 …).
  function fillUnit(select) {
    var name = select.dataset.unitTarget;
    var option = select.options[select.selectedIndex];
    if (!name || !option || !option.dataset.unit) return;
    var unit = byName(form(), name);
    if (unit && !unit.value.trim()) unit.value = option.dataset.unit;
  }

  document.addEventListener("input", function (event) {
    var el = event.target;
    var table = el.closest && el.closest(".pe-bands");
    if (table) covers(table);
    if (el.dataset && el.dataset.role === "weight") totalWeight();
  });

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-unit-target]")) fillUnit(el);
    var table = el.closest && el.closest(".pe-bands");
    if (table) covers(table);
  });

  document.addEventListener("click", function (event) {
    var go = event.target.closest && event.target.closest("[data-goto]");
    if (go) { event.preventDefault(); goTo(go.dataset.goto); }
  });

  // Enter in a field of the editor would press its first button (add a row, or save): do neither.
  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key === "Enter" && el.matches && el.matches("#plan-form input:not([type=submit])")) event.preventDefault();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id === "plan-check") checked();
    else if (target.id === "plan-editor" || (target.closest && target.closest("#plan-editor"))) {
      var f = form();
      if (f) htmx.trigger(f, "plancheck");
    }
  });

  // A save the server refused comes back with the error at its field: show it.
  document.addEventListener("DOMContentLoaded", function () {
    var spot = document.querySelector("#plan-error[data-error-path]");
    if (spot && spot.dataset.errorPath) flag(spot.dataset.errorPath);
  });
})();
