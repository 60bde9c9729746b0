// The staff pages' small behaviours. Here, not inline in the pages: their
// Content-Security-Policy runs no inline script and no on…="" attribute
// (voting_server/views/security.py).
(function () {
  "use strict";

  // <form data-confirm="…">: ask before it is sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // <button data-print>: print the page (PIN slips, enrollment cards, result sheets).
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target && target.closest && target.closest("[data-print]")) {
      window.print();
    }
  });

  // The vote form (operator/vote.html): show only the fields of the chosen kind and
  // rule; without script every field stays visible.
  function voteForm() {
    var kind = document.getElementById("kind");
    var rule = document.getElementById("rule");
    if (!kind || !rule || rule.dataset.custom === undefined) return;
    var custom = rule.dataset.custom;
    // What each vote kind's form has (seats, threshold, evaluation rule), from the server's
    // kind modules (rules/kinds): no kind is named here.
    var kindFields = JSON.parse(rule.dataset.kindFields || "{}");
    function show(id, on) {
      var el = document.getElementById(id);
      if (el) el.hidden = !on;
    }
    function update() {
      var k = kind.value;
      var fields = kindFields[k] || {};
      show("seats-field", !!fields.seats);
      show("threshold-field", !!fields.threshold);
      show("evaluation-field", !!fields.evaluation);
      show("custom-rules", rule.value === custom);
      var selected = rule.options[rule.selectedIndex];
      Array.prototype.forEach.call(rule.querySelectorAll("optgroup"), function (g) {
        g.hidden = g.dataset.kind !== k;
      });
      if (selected && selected.dataset.kind && selected.dataset.kind !== k) {
        var first = rule.querySelector('option[data-kind="' + k + '"]');
        rule.value = first ? first.value : custom;
        if (first) first.selected = true;
        show("custom-rules", rule.value === custom);
      }
    }
    kind.addEventListener("change", update);
    rule.addEventListener("change", update);
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", voteForm);
  } else {
    voteForm();
  }
})();
