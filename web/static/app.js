// sohoa web: the only script, served from /static (the Content-Security-Policy forbids inline code).
"use strict";

// Forms marked data-confirm ask before they post (disabling an account...).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// fetch() for pages: sends the session cookie and this page's CSRF token, like forms do.
window.sohoaFetch = (url, options = {}) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const headers = new Headers(options.headers || {});
  if (meta) {
    headers.set("X-CSRF-Token", meta.content);
  }
  return fetch(url, { credentials: "same-origin", ...options, headers });
};
