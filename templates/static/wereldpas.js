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
        if (!res.ok) {
          var e = new Error(j.error || "error");
          e.code = j.error;
          throw e;
        }
        return j;
      });
    });
  }

  /* What went wrong, for the person: a message of the page's language (data-msg-* of
   * box, from the catalog) for the server's error code or the browser's exception,
   * never their own (English or browser-language) text. */
  var ERROR_MSG = {
    invalid_flow: "expired", invalid_challenge: "expired", not_proofed: "expired",
    login_required: "expired", slow_down: "slow", unknown_credential: "unknown",
    NotAllowedError: "cancelled", AbortError: "cancelled", InvalidStateError: "exists"
  };
  function errorText(box, err) {
    var key = err && ERROR_MSG.hasOwnProperty(err.code || err.name) ? ERROR_MSG[err.code || err.name] : null;
    return (key && box.getAttribute("data-msg-" + key)) || box.getAttribute("data-msg-error");
  }

  /* The ceremony of box: options, then the browser's passkey dialog (or, with
   * mediation "conditional", the passkey in the autofill of the username field),
   * then verify and go on. signal aborts a waiting conditional request. */
  function run(box, button, mediation, signal) {
    var flow = box.getAttribute("data-flow");
    var kind = box.getAttribute("data-ceremony");
    var status = box.querySelector("[data-status]");
    var quiet = mediation === "conditional", picked = false;
    function say(text) { status.textContent = text; }
    if (!quiet) {
      button.disabled = true;
      say(box.getAttribute("data-msg-wait"));
    }
    var base = "/webauthn/" + kind + "/";
    /* Options fetched when the page loaded, if still fresh: the browser's passkey dialog
     * then opens at once after the click (no round trip on a slow line, and Safari sees
     * the call close to the click). Used once; a retry fetches new ones. */
    var early = box.wpEarly;
    box.wpEarly = null;
    function fetchNow() { return post(base + "options", { flow: flow }); }
    var sent = early && Date.now() - early.at < EARLY_MAX_AGE ? early.sent.catch(fetchNow)
                                                               : fetchNow();
    box.wpOptions = sent.catch(function () {}); /* the next ceremony waits for it */
    return sent.then(function (opts) {
      if (kind === "register")
        return navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) });
      var req = { publicKey: requestOptions(opts.publicKey) };
      if (quiet) {
        req.mediation = "conditional";
        req.signal = signal;
      }
      return navigator.credentials.get(req);
    }).then(function (cred) {
      if (quiet) {
        picked = true;
        button.disabled = true;
        say(box.getAttribute("data-msg-wait"));
      }
      return post(base + "verify", { flow: flow, credential: credentialJSON(cred) });
    }).then(function (res) {
      window.location.assign(res.next);
    }).catch(function (err) {
      /* The autofill offer fails quietly (cancelled for the button, or no passkey
       * here): the button stays, and the focus stays where the person put it. */
      if (quiet && !picked) return;
      say(errorText(box, err));
      button.disabled = false;
      button.focus();
    });
  }

  /* Fetches the registration options as soon as the page shows the create button (see
   * run). Sign-in does not: the autofill offer holds that flow's challenge. */
  var EARLY_MAX_AGE = 240000; /* ms; the server's challenges last five minutes */
  function fetchEarly(box) {
    if (box.getAttribute("data-ceremony") !== "register") return;
    var sent = post("/webauthn/register/options", { flow: box.getAttribute("data-flow") });
    sent.catch(function () {}); /* a failure here is retried by the click */
    box.wpEarly = { at: Date.now(), sent: sent };
  }

  /* Offers the passkeys of this site in the autofill of the username field, where the
   * browser supports it. Returns a function that cancels the offer (or does nothing). */
  function offerAutofill(box, button) {
    var field = box.querySelector("[data-autofill]");
    var ctl = null;
    if (!field || box.getAttribute("data-ceremony") !== "login" || !window.AbortController ||
        typeof PublicKeyCredential.isConditionalMediationAvailable !== "function")
      return function () {};
    PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
      if (!ok || button.disabled) return;
      field.hidden = false;
      ctl = new AbortController();
      run(box, button, "conditional", ctl.signal);
    }).catch(function () { /* no autofill: the button is enough */ });
    return function () {
      if (ctl) ctl.abort();
      ctl = null;
    };
  }

  /* No WebAuthn here: hide the button and explain the way on (another browser or
   * device, or the helpdesk) instead of a button that cannot work. */
  function unsupported(box, button) {
    var help = box.querySelector("[data-unsupported]");
    button.disabled = true;
    if (help) {
      button.hidden = true;
      help.hidden = false;
    } else {
      box.querySelector("[data-status]").textContent = box.getAttribute("data-msg-unsupported");
    }
  }

  /* Dates: the server writes them in the page's language in UTC; show them in the
   * device's time zone where Intl knows the page's language (else keep the server's). */
  function localDates() {
    var lang = document.documentElement.lang, fmt;
    try {
      if (!window.Intl || !Intl.DateTimeFormat.supportedLocalesOf([lang]).length) return;
      fmt = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    } catch (e) { return; }
    var times = document.querySelectorAll("time[data-local][datetime]");
    for (var i = 0; i < times.length; i++) {
      var d = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(d.getTime())) times[i].textContent = fmt.format(d);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    localDates();
    var autoForm = document.querySelector("form[data-autosubmit]");
    if (autoForm) autoForm.submit();
    /* After a failed form, focus the error summary (it is first in main anyway). */
    var summary = document.getElementById("error-summary");
    if (summary) {
      if (!summary.hasAttribute("tabindex")) summary.setAttribute("tabindex", "-1");
      summary.focus();
    }
    var boxes = document.querySelectorAll("[data-ceremony]");
    for (var i = 0; i < boxes.length; i++) {
      (function (box) {
        var button = box.querySelector("button");
        if (!window.PublicKeyCredential || !navigator.credentials) {
          unsupported(box, button);
          return;
        }
        fetchEarly(box);
        var cancelAutofill = offerAutofill(box, button);
        button.addEventListener("click", function () {
          if (button.disabled) return;
          button.disabled = true;
          cancelAutofill();
          /* A newer challenge must not be overtaken by the autofill's older one. */
          (box.wpOptions || Promise.resolve()).then(function () { run(box, button); });
        });
      })(boxes[i]);
    }
  });
})();
