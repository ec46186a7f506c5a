/* Wereldpas support console: the staff passkey ceremonies (register once, then sign in).
 * Kept apart from wereldpas.js so a person's page never talks to the console endpoints. */
(function () {
  "use strict";

  function post(path, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (j) {
        if (!res.ok) {
          var e = new Error(j.error || "error");
          e.code = j.error;
          e.retryAfter = Math.max.apply(null, (res.headers.get("Retry-After") || "0").split(",").map(Number));
          throw e;
        }
        return j;
      });
    });
  }

  /* The end of a refusal, Retry-After seconds from now, in the page's language and the
   * device's time zone (ISO 8601 in UTC where Intl lacks the language). */
  function untilText(secs) {
    var d = new Date(Date.now() + secs * 1000), lang = document.documentElement.lang;
    try {
      if (window.Intl && Intl.DateTimeFormat.supportedLocalesOf([lang]).length)
        return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(d);
    } catch (e) { /* below */ }
    return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  /* What went wrong, as a message of the page (data-msg-* of box, from the catalog),
   * never the server's or the browser's own text. */
  var ERROR_MSG = {
    invalid_flow: "expired", invalid_challenge: "expired", not_proofed: "expired",
    slow_down: "slow", unknown_credential: "unknown",
    NotAllowedError: "cancelled", AbortError: "cancelled", InvalidStateError: "exists"
  };
  function errorText(box, err) {
    var code = err && (err.code || err.name);
    if (code === "slow_down" && err.retryAfter > 0 && box.hasAttribute("data-msg-locked"))
      return box.getAttribute("data-msg-locked").split("{time}").join(untilText(err.retryAfter));
    var key = ERROR_MSG.hasOwnProperty(code) ? ERROR_MSG[code] : null;
    return (key && box.getAttribute("data-msg-" + key)) || box.getAttribute("data-msg-error");
  }

  function run(box, button) {
    var kind = box.getAttribute("data-staff-ceremony");
    var status = box.querySelector("[data-status]");
    var base = "/support/webauthn/" + kind + "/";
    button.disabled = true;
    status.textContent = box.getAttribute("data-msg-wait");
    post(base + "options", {}).then(function (opts) {
      return kind === "register"
        ? navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(opts.publicKey) })
        : navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(opts.publicKey) });
    }).then(function (cred) {
      return post(base + "verify", { credential: cred.toJSON() });
    }).then(function (res) {
      window.location.assign(res.next);
    }).catch(function (err) {
      status.textContent = errorText(box, err);
      button.disabled = false;
      button.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll("[data-staff-ceremony]");
    for (var i = 0; i < boxes.length; i++) {
      (function (box) {
        var button = box.querySelector("button");
        /* The console uses the JSON helpers of WebAuthn L3 (Chromium 129+, Firefox 119+,
         * Safari 18.4+); without all three the button cannot work: say so instead. */
        if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON ||
            !PublicKeyCredential.parseRequestOptionsFromJSON ||
            typeof PublicKeyCredential.prototype.toJSON !== "function") {
          button.disabled = true;
          box.querySelector("[data-status]").textContent = box.getAttribute("data-msg-unsupported");
          return;
        }
        button.addEventListener("click", function () { run(box, button); });
      })(boxes[i]);
    }
  });
})();
