// Mappings and rules: the configuration editor. Progressive enhancement over the page's <textarea>:
// without this script the form's buttons still check, preview and save. With it, the text is
// checked as it is typed (debounced) by the server's check endpoint — the same checks saving
// runs — and each issue is marked at its line (CodeMirror lint markers when CodeMirror is
// loaded) and listed under the editor (an aria-live region).
(function () {
  "use strict";
  var DELAY = 600;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  var asked = 0;  // checks asked for; an answer to an earlier one than the last is dropped

  // the issues list for ``text``, or null when a later check was asked for meanwhile
  function check(url, text) {
    var mine = ++asked;
    var body = new FormData();
    body.append("text", text);
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), "HX-Request": "true"},
    }).then(function (answer) { return answer.text(); })
      .then(function (html) { return mine === asked ? html : null; });
  }

  // The issues an answer lists with their line: [{line, message}] (line is 1-based).
  function issuesOf(region) {
    return Array.prototype.map.call(region.querySelectorAll("li[data-line]"), function (item) {
      return {line: parseInt(item.getAttribute("data-line"), 10), message: item.getAttribute("data-message")};
    });
  }

  function show(region, html) {
    region.innerHTML = html;
    return issuesOf(region);
  }

  // with an editor to move in, each issue's line becomes a button that takes the cursor there
  function linkLines(region, editor) {
    Array.prototype.forEach.call(region.querySelectorAll("li[data-line] .where"), function (where) {
      var line = parseInt(where.parentNode.getAttribute("data-line"), 10);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link where";
      button.textContent = where.textContent;
      button.addEventListener("click", function () {
        editor.focus();
        editor.setCursor(line - 1, 0);
      });
      where.replaceWith(button);
    });
  }

  function withCodeMirror(textarea, region, url) {
    var editor;
    function lint(text, updateLinting) {
      check(url, text).then(function (html) {
        if (html === null) return;  // a later check answers (lint.js ignores this one too)
        var found = show(region, html);
        linkLines(region, editor);
        updateLinting(found.map(function (issue) {
          var line = Math.max(0, Math.min(issue.line - 1, editor.lineCount() - 1));
          return {from: CodeMirror.Pos(line, 0), to: CodeMirror.Pos(line, editor.getLine(line).length),
                  message: issue.message, severity: "error"};
        }));
      }).catch(function () { updateLinting([]); });
    }
    editor = CodeMirror.fromTextArea(textarea, {
      mode: "yaml", lineNumbers: true, indentUnit: 2, tabSize: 2, indentWithTabs: false,
      inputStyle: "contenteditable", readOnly: textarea.readOnly,
      gutters: ["CodeMirror-lint-markers", "CodeMirror-linenumbers"],
      lint: {getAnnotations: lint, async: true, delay: DELAY},
      extraKeys: {Tab: false, "Shift-Tab": false},  // Tab leaves the editor (no keyboard trap)
    });
    var input = editor.getInputField();
    input.setAttribute("aria-label", document.querySelector('label[for="' + textarea.id + '"]').textContent);
    input.setAttribute("aria-describedby", textarea.getAttribute("aria-describedby"));
    input.setAttribute("role", "textbox");  // CodeMirror marks it presentation: it is the text box
    input.setAttribute("aria-multiline", "true");
    editor.on("change", function () { editor.save(); });  // htmx reads the form's textarea
    linkLines(region, editor);  // issues the page came with (a save refused)
  }

  function plain(textarea, region, url) {
    var timer = null;
    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        check(url, textarea.value).then(function (html) { if (html !== null) show(region, html); });
      }, DELAY);
    });
  }

  // Enter in a field of the preview or save part runs that part (without this script it runs the check)
  function enterRunsItsPart(form) {
    form.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || event.target.tagName !== "INPUT") return;
      var part = event.target.closest("fieldset");
      var button = part && part.querySelector("button");
      if (!button) return;
      event.preventDefault();
      button.click();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("editor-form");
    if (form) enterRunsItsPart(form);
    var textarea = document.getElementById("text");
    var region = document.getElementById("issues");
    if (!textarea || !region || !window.fetch) return;
    var url = textarea.getAttribute("data-check-url");
    if (window.CodeMirror) withCodeMirror(textarea, region, url); else plain(textarea, region, url);
  });
})();
