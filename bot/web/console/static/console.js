/* The staff console's only script: refreshes the inbox and live lists, shows new messages of a conversation as
   they arrive, and sends the takeover forms without leaving the page. Without it every page still works. */
(function () {
  "use strict";
  var csrf = document.body.getAttribute("data-csrf") || "";
  var POLL_MS = 3000;

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { window.location.href = "/staff/login?next=" + encodeURIComponent(location.pathname); }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  // Inbox and live chats: the server renders the rows (escaped); replaced only when they changed.
  function pollTable(table) {
    var body = table.querySelector("tbody");
    var url = table.getAttribute("data-poll");
    setInterval(function () {
      getJson(url).then(function (data) {
        if (data.rows !== undefined && body.innerHTML.trim() !== data.rows.trim()) { body.innerHTML = data.rows; }
        if (data["new"] !== undefined) {
          var title = document.title.replace(/^\(\d+\) /, "");
          document.title = (data["new"] ? "(" + data["new"] + ") " : "") + title;
          var summary = document.getElementById("inbox-summary");
          if (summary) { summary.textContent = summary.textContent.replace(/^\d+ new/, data["new"] + " new"); }
        }
      }).catch(function () { /* next poll */ });
    }, POLL_MS);
  }

  // A conversation: entries after the last one shown, built with textContent (patients' text is never HTML).
  function entryElement(e) {
    var li = document.createElement("li");
    li.className = "entry " + e.who;
    li.setAttribute("data-id", e.id);
    var meta = document.createElement("p");
    meta.className = "meta";
    var from = document.createElement("span");
    from.className = "from";
    from.textContent = e.who === "patient" ? "Patient" : e.who === "staff" ? e.staff_name + " (staff)"
      : e.who === "assistant" ? "Assistant" : (e.note || "Event");
    var time = document.createElement("time");
    time.textContent = e.at;
    meta.appendChild(from); meta.appendChild(document.createTextNode(" ")); meta.appendChild(time);
    if (e.intent) {
      var intent = document.createElement("span");
      intent.className = "intent";
      intent.textContent = " " + e.intent + (e.confidence !== null ? " · " + e.confidence + " %" : "");
      meta.appendChild(intent);
    }
    li.appendChild(meta);
    if (e.text) { var p = document.createElement("p"); p.className = "text"; p.textContent = e.text; li.appendChild(p); }
    return li;
  }

  function setPaused(paused) {
    var state = document.getElementById("takeover-state");
    var take = document.getElementById("takeover-form");
    var back = document.getElementById("handback-form");
    var message = document.getElementById("message-form");
    if (take) { take.hidden = paused; }
    if (back) { back.hidden = !paused; }
    if (message) { message.hidden = !paused; }
    var text = paused ? "The assistant is paused: the clinic team is talking with this patient."
      : "The assistant is answering this conversation.";
    if (state && state.textContent !== text) { state.textContent = text; }
  }

  function pollTranscript(list) {
    var url = list.getAttribute("data-poll");
    function poll() {
      var after = list.getAttribute("data-after") || "0";
      return getJson(url + "?after=" + encodeURIComponent(after)).then(function (data) {
        data.entries.forEach(function (e) {
          if (list.querySelector('[data-id="' + e.id + '"]')) { return; }
          var empty = list.querySelector(".entry.event:only-child:not([data-id])");
          if (empty) { empty.remove(); }
          list.appendChild(entryElement(e));
          list.setAttribute("data-after", e.id);
        });
        setPaused(data.paused);
      }).catch(function () { /* next poll */ });
    }
    setInterval(poll, POLL_MS);
    return poll;
  }

  function sendForm(form, after) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = document.getElementById("takeover-error");
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                           headers: { "X-CSRF-Token": csrf, Accept: "application/json" } })
        .then(function (r) { return r.json().catch(function () { return { ok: false, message: "HTTP " + r.status }; }); })
        .then(function (result) {
          error.hidden = !result.message;
          error.textContent = result.message || "";
          if (result.ok && form.id === "message-form") { form.reset(); form.querySelector("textarea").focus(); }
          after();
        })
        .catch(function () { error.hidden = false; error.textContent = "No answer from the server: nothing was sent."; })
        .then(function () { button.disabled = false; });
    });
  }

  document.querySelectorAll("table[data-poll]").forEach(pollTable);
  var list = document.querySelector("ol.transcript[data-poll]");
  if (list) {
    var poll = pollTranscript(list);
    ["takeover-form", "handback-form", "message-form"].forEach(function (id) {
      var form = document.getElementById(id);
      if (form) { sendForm(form, poll); }
    });
    var textarea = document.getElementById("message-text");
    if (textarea) {
      textarea.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); textarea.form.requestSubmit(); }
      });
    }
  }
})();
