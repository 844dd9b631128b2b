// Demo console: the browser plays the EHR. It fetches the hook request, posts it to the CDS service like an
// EHR would, and asks the server to render the returned cards (markdown rendered safely server-side).
(function () {
  "use strict";
  var form = document.getElementById("fire-form");
  if (!form) { return; }
  var button = document.getElementById("fire");
  var status = document.getElementById("status");
  var cards = document.getElementById("cards");
  var rawRequest = document.getElementById("raw-request");
  var rawResponse = document.getElementById("raw-response");

  function selected(name) {
    var input = form.querySelector("input[name='" + name + "']:checked");
    return input ? input.value : "";
  }

  async function fire(event) {
    event.preventDefault();
    var patient = selected("patient");
    var hook = selected("hook");
    if (!patient) { status.textContent = "Pick a patient first."; return; }
    button.disabled = true;
    cards.dataset.state = "busy";
    status.textContent = "Calling the service…";
    try {
      var query = "?patient=" + encodeURIComponent(patient) + "&hook=" + encodeURIComponent(hook);
      var made = await fetch(form.dataset.requestUrl + query);
      if (!made.ok) { throw new Error("could not build the request (" + made.status + ")"); }
      var plan = await made.json();
      rawRequest.textContent = JSON.stringify(plan.body, null, 2);
      var started = performance.now();
      var answer = await fetch(plan.service, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(plan.body)
      });
      var elapsed = Math.round(performance.now() - started);
      var json = await answer.json();
      rawResponse.textContent = JSON.stringify(json, null, 2);
      if (!answer.ok) { throw new Error("the service answered HTTP " + answer.status); }
      var rendered = await fetch(form.dataset.renderUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(json)
      });
      if (!rendered.ok) { throw new Error("could not render the cards (" + rendered.status + ")"); }
      cards.innerHTML = await rendered.text();
      status.textContent = hook + " for " + patient + ": " + json.cards.length + " card(s) in " + elapsed + " ms";
      cards.dataset.patient = patient;
      cards.dataset.hook = hook;
      cards.dataset.state = "done";
    } catch (error) {
      status.textContent = "Failed: " + error.message;
      cards.dataset.state = "error";
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener("submit", fire);
})();
