// lifesync console, Reports: a date-range brush on the "stage changes per day" chart. Dragging across
// the days writes the range form's From and To and submits it (htmx then swaps the reports in). The form
// stays the way to choose a range by keyboard and without scripts; the chosen days are highlighted.
(function () {
  "use strict";

  function form() { return document.querySelector("form.range"); }

  function columns(svg) { return Array.prototype.slice.call(svg.querySelectorAll("rect[data-day]")); }

  function mark(svg, first, last) {
    columns(svg).forEach(function (rect, i) { rect.classList.toggle("chosen", i >= first && i <= last); });
  }

  function markForm(svg) {
    var chosen = form();
    if (!chosen) { return; }
    var since = chosen.elements.since.value, until = chosen.elements.until.value;
    columns(svg).forEach(function (rect) {
      var day = rect.getAttribute("data-day");
      rect.classList.toggle("chosen", Boolean(since || until) && (!since || day >= since) && (!until || day <= until));
    });
  }

  function indexAt(svg, clientX) {
    var box = svg.getBoundingClientRect(), count = columns(svg).length;
    var i = Math.floor((clientX - box.left) / box.width * count);
    return Math.max(0, Math.min(count - 1, i));
  }

  function wire(svg) {
    if (svg.getAttribute("data-wired")) { return; }
    svg.setAttribute("data-wired", "1");
    var start = null;
    svg.addEventListener("pointerdown", function (event) {
      start = indexAt(svg, event.clientX);
      svg.setPointerCapture(event.pointerId);
      mark(svg, start, start);
      event.preventDefault();
    });
    svg.addEventListener("pointermove", function (event) {
      if (start === null) { return; }
      var at = indexAt(svg, event.clientX);
      mark(svg, Math.min(start, at), Math.max(start, at));
    });
    svg.addEventListener("pointerup", function (event) {
      if (start === null) { return; }
      var at = indexAt(svg, event.clientX), days = columns(svg);
      var first = days[Math.min(start, at)].getAttribute("data-day");
      var last = days[Math.max(start, at)].getAttribute("data-day");
      start = null;
      var chosen = form();
      if (!chosen) { return; }
      chosen.elements.since.value = first;
      chosen.elements.until.value = last;
      chosen.requestSubmit();
    });
    markForm(svg);
  }

  function scan() {
    Array.prototype.forEach.call(document.querySelectorAll("svg.days"), function (svg) {
      wire(svg);
      markForm(svg);
    });
  }

  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:afterSettle", scan);
})();
