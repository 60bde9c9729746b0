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
    // 现场打分's range, trim and pass mark only while scores are chosen
    var scoreFields = document.querySelector(".score-fields");
    var gradeFields = document.querySelector(".grade-fields");
    var evalRules = document.querySelectorAll('input[name="eval_rule"]');
    function updateScores() {
      var chosen = document.querySelector('input[name="eval_rule"]:checked');
      if (scoreFields) scoreFields.hidden = !chosen || chosen.value !== "scores";
      if (gradeFields) gradeFields.hidden = !chosen || chosen.value !== "three";
    }
    Array.prototype.forEach.call(evalRules, function (r) {
      r.addEventListener("change", updateScores);
    });
    update();
    updateScores();
  }

  // The vote form's rows (subjects, candidates, departments): add, up, down and remove act
  // in the page; without script each button sends the form and the server answers with
  // the rows changed (views/agenda.py). Import always goes to the server. The labels come
  // from the page (data-labels, "{n}" for the row's number): no words here.
  function rowsEditor() {
    var table = document.getElementById("item-rows");
    if (!table || !table.dataset.labels) return;
    var labels = JSON.parse(table.dataset.labels);
    var max = parseInt(table.dataset.max || "200", 10);
    var body = table.tBodies[0];
    var notice = document.getElementById("rows-unsaved");
    var add = table.closest("form").querySelector('button[name=row_op][value="add"]');

    function label(key, n) {
      return labels[key].replace("{n}", String(n));
    }
    function renumber() {
      var rows = body.rows;
      for (var i = 0; i < rows.length; i++) {
        var row = rows[i];
        row.cells[0].textContent = String(i + 1);
        row.querySelector("input[name=item_id]").setAttribute("aria-label", label("id", i + 1));
        row.querySelector("input[name=item_title]").setAttribute("aria-label", label("title", i + 1));
        ["up", "down", "remove"].forEach(function (op) {
          var button = row.querySelector('button[name=row_op][value^="' + op + ':"]');
          if (!button) return;
          button.value = op + ":" + i;
          button.setAttribute("aria-label", label(op, i + 1));
          if (op === "up") button.disabled = i === 0;
          if (op === "down") button.disabled = i === rows.length - 1;
        });
      }
      if (add) add.disabled = rows.length >= max;
      if (notice) notice.hidden = false;
    }
    table.closest("form").addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("button[name=row_op]");
      if (!button || button.disabled) return;
      var rows = body.rows;
      var match = /^(up|down|remove):(\d+)$/.exec(button.value);
      if (button.value === "add") {
        var fresh = rows[rows.length - 1].cloneNode(true);
        Array.prototype.forEach.call(fresh.querySelectorAll("input"), function (input) {
          input.value = "";
        });
        body.appendChild(fresh);
        renumber();
        fresh.querySelector("input[name=item_title]").focus();
      } else if (match && rows[Number(match[2])]) {
        var row = rows[Number(match[2])];
        if (match[1] === "up" && row.previousElementSibling) {
          body.insertBefore(row, row.previousElementSibling);
        } else if (match[1] === "down" && row.nextElementSibling) {
          body.insertBefore(row.nextElementSibling, row);
        } else if (match[1] === "remove") {
          if (rows.length > 1) body.removeChild(row);
          else Array.prototype.forEach.call(row.querySelectorAll("input"), function (input) {
            input.value = "";
          });
        }
        renumber();
        var again = row.isConnected && row.querySelector('button[value^="' + match[1] + ':"]');
        if (again && !again.disabled) again.focus();
      } else {
        return; // import: the server reads the file
      }
      event.preventDefault();
    });
  }

  function ready() {
    voteForm();
    rowsEditor();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
