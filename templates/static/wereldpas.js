/* Wereldpas: the passkey ceremonies. One small file, no dependencies. */
(function () {
  "use strict";

  function b64urlToBuf(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out.buffer;
  }

  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON)
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    var o = Object.assign({}, json);
    o.challenge = b64urlToBuf(json.challenge);
    o.user = Object.assign({}, json.user, { id: b64urlToBuf(json.user.id) });
    o.excludeCredentials = (json.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: b64urlToBuf(c.id) });
    });
    return o;
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON)
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    var o = Object.assign({}, json);
    o.challenge = b64urlToBuf(json.challenge);
    o.allowCredentials = (json.allowCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: b64urlToBuf(c.id) });
    });
    return o;
  }

  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") {
      try { return cred.toJSON(); } catch (e) { /* fall through */ }
    }
    var r = cred.response, out = {
      id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: bufToB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle) out.response.userHandle = bufToB64url(r.userHandle);
    }
    return out;
  }

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
    var flow = box.getAttribute("data-flow");
    var kind = box.getAttribute("data-ceremony");
    var status = box.querySelector("[data-status]");
    function say(text) { status.textContent = text; }
    button.disabled = true;
    say(box.getAttribute("data-msg-wait"));
    var base = "/webauthn/" + kind + "/";
    post(base + "options", { flow: flow }).then(function (opts) {
      return kind === "register"
        ? navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) })
        : navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) });
    }).then(function (cred) {
      return post(base + "verify", { flow: flow, credential: credentialJSON(cred) });
    }).then(function (res) {
      window.location.assign(res.next);
    }).catch(function (err) {
      say(box.getAttribute("data-msg-error") + (err && err.message ? " (" + err.message + ")" : ""));
      button.disabled = false;
      button.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var autoForm = document.querySelector("form[data-autosubmit]");
    if (autoForm) autoForm.submit();
    var boxes = document.querySelectorAll("[data-ceremony]");
    for (var i = 0; i < boxes.length; i++) {
      (function (box) {
        var button = box.querySelector("button");
        if (!window.PublicKeyCredential || !navigator.credentials) {
          button.disabled = true;
          box.querySelector("[data-status]").textContent = box.getAttribute("data-msg-unsupported");
          return;
        }
        button.addEventListener("click", function () { run(box, button); });
      })(boxes[i]);
    }
  });
})();
