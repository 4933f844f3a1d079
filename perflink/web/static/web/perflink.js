/* Perflink (联动绩效): the little behaviour the pages need beyond htmx. No dependencies besides htmx. */
(function () {
  "use strict";

  function toast(text) {
    var box = document.getElementById("toasts");
    if (!box || !text) return;
    var el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "status");
    el.textContent = text;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 5000);
  }

  // Org tree: expand / collapse a node; children are fetched once, on first expand.
  function toggleNode(button) {
    var container = document.getElementById(button.getAttribute("aria-controls"));
    if (!container) return;
    var expanded = button.getAttribute("aria-expanded") === "true";
    if (expanded) {
      button.setAttribute("aria-expanded", "false");
      container.hidden = true;
      return;
    }
    button.setAttribute("aria-expanded", "true");
    container.hidden = false;
    if (container.dataset.loaded === "true") return;
    container.innerHTML = '<li class="tree-loading"><span class="spinner"></span> ' + (button.dataset.loadingText || "") + "</li>";
    htmx.ajax("GET", button.dataset.url, { target: container, swap: "innerHTML" }).then(function () {
      container.dataset.loaded = "true";
    });
  }

  function selectNode(node) {
    document.querySelectorAll(".tree-row.selected").forEach(function (row) { row.classList.remove("selected"); });
    var row = node.closest(".tree-row");
    if (row) row.classList.add("selected");
  }

  function copyFrom(button) {
    var source = document.getElementById(button.dataset.copyTarget);
    if (!source) return;
    var text = source.textContent.trim();
    var done = function () {
      var label = button.querySelector("[data-label]");
      if (label) {
        var original = label.textContent;
        label.textContent = button.dataset.copiedText || original;
        setTimeout(function () { label.textContent = original; }, 2000);
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected for Ctrl+C */ }
    }
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".tree-toggle");
    if (toggle) { event.preventDefault(); toggleNode(toggle); return; }
    var node = event.target.closest(".tree-node");
    if (node) { selectNode(node); }
    var copy = event.target.closest("[data-copy-target]");
    if (copy) { event.preventDefault(); copyFrom(copy); }
  });

  // Forms that ask before they act (revoke a token, …).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  // Selects that submit their form on change (the language switch).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      // htmx may have changed the address (search, sort, page) since the page was drawn: come back to it.
      var next = el.form.querySelector('input[name="next"][data-current-url]');
      if (next) next.value = window.location.pathname + window.location.search;
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });

  // A session that expired while a fragment was requested lands on the login page: go there for real.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var loginPath = document.body.dataset.loginUrl;
    if (xhr && xhr.responseURL && loginPath && new URL(xhr.responseURL).pathname === loginPath) {
      event.detail.shouldSwap = false;
      window.location.href = xhr.responseURL;
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var body = document.body.dataset;
    toast(status === 403 ? body.forbiddenText : status === 404 ? body.notFoundText : body.errorText);
  });
  document.addEventListener("htmx:sendError", function () { toast(document.body.dataset.offlineText); });

  // Phone layout: the main menu folds behind its button (CSS shows the button only on narrow screens).
  var sidebar = document.querySelector(".sidebar");
  var navToggle = sidebar && sidebar.querySelector(".nav-toggle");
  if (navToggle) {
    sidebar.classList.add("nav-folds");
    navToggle.hidden = false;
    navToggle.addEventListener("click", function () {
      var open = sidebar.classList.toggle("nav-open");
      navToggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
})();
