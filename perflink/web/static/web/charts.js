/* Perflink charts: Apache ECharts (vendor/echarts.min.js) wired to the page the Perflink way.

   Include once per page, in the content block:   {% include "web/partials/charts.html" %}

   Markup — a chart is an element with `data-chart` and an ECharts option as JSON, written by Django's json_script
   either as its child or as the element right after it, and followed by the table of the same data:

     <figure class="chart-figure">
       <div data-chart="bonus-by-month" data-chart-height="320" role="img" aria-label="…"></div>
       {{ option|json_script:"bonus-by-month-option" }}          (or put the script inside the div)
       <details class="chart-table"><summary>…</summary><table class="table">…</table></details>
     </figure>

   - `data-chart`: a name (also the PNG file name); if it is the id of a <script type="application/json">, that
     script is the option, wherever it is.
   - `data-chart-height`: pixels, when the element has no height from CSS (default 320).
   - The table behind the chart: every chart is followed by a <details> table of its data. Render it on the
     server when the figures must be exact (money to the fen); when the chart is not followed by one,
     this file builds it from the option (a category axis and its series, a `dataset.source`, or a pie).
     Its summary reads `data-chart-table-text`, else the text given to this script (see charts.html).
   - Tables with `data-sortable` (those built here too) sort by a click on a column header: cells compare by
     their `data-value` when they have one, else by their text, as numbers when they all are numbers.

   The option is plain ECharts JSON (no functions). This file adds: the product's colours and font stack (from
   perflink.css's custom properties), a toolbox with "save as PNG", an axis tooltip, and value formatting.
   Strings "var(--name)" anywhere in the option become that custom property's value, so the server can say
   {"itemStyle": {"color": "var(--red)"}}. An extra top-level key `perflink` (removed before ECharts sees it):
     {"perflink": {"format": "yuan" | "number" | "percent"}}   how values read in tooltips and on value axes
     ("yuan": ¥1,234.50 in the tooltip, ¥12万 on the axis in Chinese).

   Charts initialise on load, again after every htmx swap (htmx:afterSettle; charts whose element left the page
   are disposed), follow the window's and their container's size, and are reachable for other scripts as
   window.PerflinkCharts: init(root), get(element), resize().
*/
(function () {
  "use strict";
  if (window.PerflinkCharts) return; // included twice (a page swapped in by htmx): the first one serves

  var script = document.currentScript;
  // The few styles of what this file builds (sort buttons, the table behind a chart), so that any page can use it.
  var style = document.createElement("style");
  style.textContent =
    "[data-chart]{width:100%;min-width:0}" +
    ".sort-button{all:unset;cursor:pointer;display:inline-flex;align-items:center;gap:4px}" +
    ".sort-button:focus-visible{outline:2px solid var(--primary);outline-offset:2px}" +
    "th[aria-sort] .sort-button{color:var(--primary)}" +
    "th[aria-sort=ascending] .sort-button::after{content:'\\25B2';font-size:9px}" +
    "th[aria-sort=descending] .sort-button::after{content:'\\25BC';font-size:9px}" +
    "details.chart-table{margin-top:8px}" +
    "details.chart-table>summary{cursor:pointer;color:var(--primary);font-size:12.5px;user-select:none}" +
    "details.chart-table>.table-wrap{margin-top:6px;max-height:360px;overflow:auto}";
  document.head.appendChild(style);
  var TABLE_TEXT = (script && script.dataset.tableText) || "Table";
  var charts = new Map(); // element -> ECharts instance
  var observer = window.ResizeObserver ? new ResizeObserver(function (entries) {
    entries.forEach(function (entry) {
      var chart = charts.get(entry.target);
      if (chart) chart.resize();
    });
  }) : null;

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function lang() {
    return document.documentElement.lang || "zh-Hans";
  }

  function numberLocale() {
    return lang().toLowerCase().indexOf("zh") === 0 ? "zh-CN" : lang();
  }

  // "var(--red)" -> "#c0341d", anywhere in the option.
  function resolveVars(value) {
    if (typeof value === "string") {
      var match = /^var\((--[\w-]+)\)$/.exec(value.trim());
      return match ? cssVar(match[1], value) : value;
    }
    if (Array.isArray(value)) return value.map(resolveVars);
    if (value && typeof value === "object") {
      var out = {};
      Object.keys(value).forEach(function (key) { out[key] = resolveVars(value[key]); });
      return out;
    }
    return value;
  }

  function formatter(kind, compact) {
    var locale = numberLocale();
    var plain = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
    if (kind === "yuan") {
      var money = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      var short = new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 });
      return function (value) {
        if (value === null || value === undefined || value === "" || isNaN(+value)) return "—";
        var n = +value;
        return (n < 0 ? "-¥" : "¥") + (compact ? short : money).format(Math.abs(n));
      };
    }
    if (kind === "percent") {
      return function (value) { return isNaN(+value) ? "—" : plain.format(+value) + "%"; };
    }
    return function (value) { return isNaN(+value) ? String(value) : plain.format(+value); };
  }

  function asList(value) {
    if (value === undefined || value === null) return [];
    return Array.isArray(value) ? value : [value];
  }

  // The product's look, under whatever the option says itself.
  function withDefaults(option, name) {
    var text = cssVar("--text-2", "#3d4a5f");
    var muted = cssVar("--muted", "#6a768c");
    var border = cssVar("--border", "#e2e7ef");
    var strong = cssVar("--border-strong", "#cfd6e2");
    var font = cssVar("--font", '-apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif');
    var extra = option.perflink || {};
    delete option.perflink;
    var out = Object.assign({
      color: ["--primary", "--teal", "--amber", "--violet", "--green", "--red", "--blue"].map(function (n) {
        return cssVar(n, "#2156d9");
      }),
      textStyle: { fontFamily: font, color: text },
      animationDuration: 300,
    }, option);
    out.textStyle = Object.assign({ fontFamily: font, color: text }, option.textStyle || {});
    out.tooltip = Object.assign({ trigger: "axis", confine: true }, option.tooltip || {});
    out.legend = option.legend === undefined ? { top: 0, left: 0, textStyle: { color: text } } : option.legend;
    out.grid = Object.assign({ left: 8, right: 16, top: 40, bottom: 8, containLabel: true }, option.grid || {});
    out.toolbox = Object.assign({
      right: 0,
      top: 0,
      feature: {
        saveAsImage: { type: "png", pixelRatio: 2, backgroundColor: "#ffffff", name: name || "chart" },
      },
    }, option.toolbox || {});
    if (extra.format) {
      var full = formatter(extra.format, false);
      var axis = formatter(extra.format, true);
      if (!out.tooltip.valueFormatter) out.tooltip.valueFormatter = full;
      ["xAxis", "yAxis"].forEach(function (key) {
        if (!out[key]) return;
        var single = !Array.isArray(out[key]);
        var axes = asList(out[key]).map(function (a) {
          a = Object.assign({}, a);
          if (a.type === "value") {
            a.axisLabel = Object.assign({ formatter: axis }, a.axisLabel || {});
          }
          return a;
        });
        out[key] = single ? axes[0] : axes;
      });
    }
    ["xAxis", "yAxis"].forEach(function (key) {
      if (!out[key]) return;
      var single = !Array.isArray(out[key]);
      var axes = asList(out[key]).map(function (a) {
        return Object.assign({}, a, {
          axisLine: Object.assign({ lineStyle: { color: strong } }, a.axisLine || {}),
          axisLabel: Object.assign({ color: muted }, a.axisLabel || {}),
          splitLine: Object.assign({ lineStyle: { color: border } }, a.splitLine || {}),
          nameTextStyle: Object.assign({ color: muted }, a.nameTextStyle || {}),
        });
      });
      out[key] = single ? axes[0] : axes;
    });
    return out;
  }

  function optionScript(el) {
    var named = el.dataset.chart && document.getElementById(el.dataset.chart);
    if (named && named.matches('script[type="application/json"]')) return named;
    var child = el.querySelector('script[type="application/json"]');
    if (child) return child;
    var next = el.nextElementSibling;
    return next && next.matches('script[type="application/json"]') ? next : null;
  }

  // --- the table behind a chart ---------------------------------------------------------------------------------

  function cellValue(value) {
    if (value && typeof value === "object" && !Array.isArray(value)) value = value.value;
    if (Array.isArray(value)) value = value[value.length - 1];
    return value === null || value === undefined ? "" : value;
  }

  function tableRows(option) {
    var dataset = asList(option.dataset)[0];
    if (dataset && Array.isArray(dataset.source) && dataset.source.length) {
      var source = dataset.source;
      if (Array.isArray(source[0])) return source.map(function (row) { return row.map(cellValue); });
      var keys = Object.keys(source[0]);
      return [keys].concat(source.map(function (row) { return keys.map(function (k) { return cellValue(row[k]); }); }));
    }
    var series = asList(option.series);
    if (series.length && series[0].type === "pie") {
      return [["", series[0].name || ""]].concat(asList(series[0].data).map(function (d) {
        return [d.name, cellValue(d)];
      }));
    }
    var category = asList(option.xAxis).concat(asList(option.yAxis)).filter(function (a) {
      return a && a.type === "category" && Array.isArray(a.data);
    })[0];
    if (!category || !series.length) return null;
    var header = [category.name || ""].concat(series.map(function (s) { return s.name || ""; }));
    return [header].concat(category.data.map(function (label, i) {
      return [cellValue(label)].concat(series.map(function (s) { return cellValue(asList(s.data)[i]); }));
    }));
  }

  function buildTable(el, option, format) {
    var rows = tableRows(option);
    if (!rows) return;
    var show = format ? formatter(format, false) : function (v) { return v; };
    var details = document.createElement("details");
    details.className = "chart-table";
    var summary = document.createElement("summary");
    summary.textContent = el.dataset.chartTableText || TABLE_TEXT;
    details.appendChild(summary);
    var wrap = document.createElement("div");
    wrap.className = "table-wrap";
    var table = document.createElement("table");
    table.className = "table table-compact";
    table.setAttribute("data-sortable", "");
    var head = table.createTHead().insertRow();
    rows[0].forEach(function (label, i) {
      var th = document.createElement("th");
      th.textContent = label;
      if (i > 0) th.className = "num";
      head.appendChild(th);
    });
    var body = table.createTBody();
    rows.slice(1).forEach(function (row) {
      var tr = body.insertRow();
      row.forEach(function (value, i) {
        var td = tr.insertCell();
        var numeric = value !== "" && !isNaN(+value);
        td.textContent = i > 0 && numeric ? show(value) : value;
        if (numeric) td.dataset.value = value;
        if (i > 0) td.className = "num";
      });
    });
    wrap.appendChild(table);
    details.appendChild(wrap);
    var after = optionScript(el);
    var anchor = after && after.previousElementSibling === el ? after : el;
    anchor.insertAdjacentElement("afterend", details);
  }

  function hasTable(el) {
    var next = el.nextElementSibling;
    if (next && next.matches('script[type="application/json"]')) next = next.nextElementSibling;
    return !!(next && next.matches("details"));
  }

  // --- sortable tables ------------------------------------------------------------------------------------------

  function prepareSortable(root) {
    root.querySelectorAll("table[data-sortable] thead th").forEach(function (th) {
      if (th.querySelector(".sort-button") || th.hasAttribute("data-nosort")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
    });
  }

  function sortBy(th) {
    var table = th.closest("table");
    var index = Array.prototype.indexOf.call(th.parentElement.children, th);
    var descending = th.getAttribute("aria-sort") === "ascending";
    table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var key = function (row) {
      var cell = row.cells[index];
      if (!cell) return "";
      return cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
    };
    var numeric = rows.every(function (row) { var k = key(row); return k === "" || !isNaN(+k); });
    var collator = new Intl.Collator(numberLocale(), { numeric: true });
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      var order = numeric ? (x === "" ? -Infinity : +x) - (y === "" ? -Infinity : +y) : collator.compare(x, y);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("table[data-sortable] .sort-button");
    if (button) sortBy(button.closest("th"));
  });

  // --- life cycle -----------------------------------------------------------------------------------------------

  function prune() {
    charts.forEach(function (chart, el) {
      if (!el.isConnected) {
        if (observer) observer.unobserve(el);
        chart.dispose();
        charts.delete(el);
      }
    });
  }

  function initOne(el) {
    if (charts.has(el) || !window.echarts) return;
    var source = optionScript(el);
    if (!source) return;
    var option;
    try {
      option = JSON.parse(source.textContent);
    } catch (error) {
      console.error("chart " + el.dataset.chart + ": the option is not JSON", error);
      return;
    }
    // A page restored from htmx's history cache holds the old canvas: start from an empty element.
    Array.prototype.slice.call(el.childNodes).forEach(function (node) {
      if (node !== source) el.removeChild(node);
    });
    el.removeAttribute("_echarts_instance_");
    if (!el.clientHeight) el.style.height = (parseInt(el.dataset.chartHeight, 10) || 320) + "px";
    var format = option.perflink && option.perflink.format;
    if (!hasTable(el)) buildTable(el, option, format);
    var chart = window.echarts.init(el, null, {
      renderer: "canvas",
      locale: lang().toLowerCase().indexOf("zh") === 0 ? "ZH" : "EN",
    });
    chart.setOption(withDefaults(resolveVars(option), el.dataset.chart));
    charts.set(el, chart);
    if (observer) observer.observe(el);
  }

  function init(root) {
    prune();
    root = root || document;
    if (root.matches && root.matches("[data-chart]")) initOne(root);
    root.querySelectorAll("[data-chart]").forEach(initOne);
    prepareSortable(root.nodeType === 1 || root.nodeType === 9 ? root : document);
  }

  function resize() {
    charts.forEach(function (chart) { chart.resize(); });
  }

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(resize, 100);
  });
  document.addEventListener("htmx:afterSettle", function () { init(document); });
  document.addEventListener("htmx:historyRestore", function () { init(document); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }

  window.PerflinkCharts = {
    init: init,
    get: function (el) { return charts.get(el); },
    resize: resize,
  };
})();
