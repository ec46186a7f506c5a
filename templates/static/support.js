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
        if (!res.ok) throw new Error(j.error_description || j.error || "error");
        return j;
      });
    });
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
      status.textContent = box.getAttribute("data-msg-error") + (err && err.message ? " (" + err.message + ")" : "");
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
