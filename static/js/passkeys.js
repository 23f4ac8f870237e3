// After django-otp-webauthn's script has registered a passkey, go on: to the
// security page, or (walked here by the policy) to the person's work. Served
// from our origin; the page has no inline script.
document.addEventListener("otp_webauthn.register_complete", function () {
  var done = document.getElementById("passkey-done");
  window.location.assign(done ? done.dataset.next : "/staff/security/");
});
