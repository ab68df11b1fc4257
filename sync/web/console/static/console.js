// lifesync console: progressive enhancement only; every page works without it.
// htmx swaps error answers (4xx, 5xx) into their target too, so a refusal is shown where the
// person acted instead of nothing happening.
document.addEventListener("DOMContentLoaded", function () {
  if (window.htmx) {
    htmx.config.responseHandling = [
      {code: "204", swap: false},
      {code: "[23]..", swap: true},
      {code: "[45]..", swap: true, error: true},
    ];
  }
});
