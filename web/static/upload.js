// sohoa web: the clerk's upload page and live batch status (served from /static: no inline code).
//
// Upload page: files dropped on the zone or chosen with the input go, with the form's other
// fields, to POST /api/uploads (X-CSRF-Token from the page, like sohoaFetch), with a progress
// bar for the bytes sent; then the batch is polled every second at GET /api/batches/{id}
// until it is done. Without JavaScript the same form posts to /upload.
// Batch pages and the batch list: every element with a non-empty data-batch-poll is polled
// the same way and its data-role children updated. No page reloads.
"use strict";

(() => {
  const POLL_MS = 1000;

  const role = (root, name) => root.querySelector(`[data-role="${name}"]`);

  const setText = (root, name, value) => {
    const el = role(root, name);
    if (el) {
      el.textContent = value;
    }
    return el;
  };

  function renderRecords(list, batch) {
    if (!list || !batch.done) {
      return;
    }
    list.replaceChildren();
    for (const record of batch.records) {
      const item = document.createElement("li");
      const id = document.createElement("span");
      id.className = "kv";
      id.textContent = record.id;
      item.append(id, ` ${record.dossier_code || "—"} · ${record.status_text} `);
      if (record.review_url) {
        const link = document.createElement("a");
        link.href = record.review_url;
        link.textContent = list.dataset.msgReview || "→";
        item.append(link);
      }
      list.append(item);
    }
    if (!batch.records.length && list.dataset.msgNone) {
      const none = document.createElement("li");
      none.className = "none";
      none.textContent = list.dataset.msgNone;
      list.append(none);
    }
  }

  // Fill one batch's elements from its JSON (BatchOut in web/api_clerk.py).
  function renderBatch(root, batch) {
    const status = setText(root, "status", batch.status_text);
    if (status) {
      status.className = `status status-${batch.status}`;
      status.dataset.status = batch.status;
    }
    setText(root, "stage", batch.stage_text ? `(${batch.stage_text})` : "");
    const reason = setText(root, "reason", batch.reason || "");
    if (reason) {
      reason.hidden = !batch.reason;
    }
    const pages = role(root, "pages");
    if (pages) {
      pages.max = batch.pages_total || 1;
      pages.value = batch.pages_total ? batch.pages_done : 0;
    }
    const total = batch.pages_total === null ? "?" : batch.pages_total;
    setText(root, "pages-text", `${batch.pages_done}/${total}`);
    const retry = role(root, "retry");
    if (retry) {
      retry.hidden = !batch.retryable;
    }
    renderRecords(role(root, "records"), batch);
    root.dataset.status = batch.status;
  }

  // Poll url every second until the batch is done (or the server says it never will be).
  function poll(root, url) {
    const tick = async () => {
      try {
        const answer = await fetch(url, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (answer.status >= 400 && answer.status < 500) {
          return; // signed out, not allowed, gone: stop asking
        }
        if (answer.ok) {
          const batch = await answer.json();
          renderBatch(root, batch);
          if (batch.done) {
            return;
          }
        }
      } catch (error) {
        // a network hiccup: ask again next tick
      }
      window.setTimeout(tick, POLL_MS);
    };
    tick();
  }

  function startPolling() {
    for (const root of document.querySelectorAll("[data-batch-poll]")) {
      if (root.dataset.batchPoll) {
        poll(root, root.dataset.batchPoll);
      }
    }
  }

  // --- the upload page --------------------------------------------------------------------

  const sizeText = (bytes) =>
    bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;

  function showChosen(input, list) {
    list.replaceChildren();
    for (const file of input.files) {
      const item = document.createElement("li");
      item.textContent = `${file.name} (${sizeText(file.size)})`;
      list.append(item);
    }
  }

  // Refuse before sending what the server would refuse (it checks again anyway).
  function clientProblem(form, files) {
    const maxFile = Number(form.dataset.maxFileBytes);
    const maxUpload = Number(form.dataset.maxUploadBytes);
    if (!files.length) {
      return form.dataset.msgNoFiles;
    }
    const big = files.find((file) => file.size > maxFile);
    if (big) {
      return `${big.name}: ${form.dataset.msgTooLarge}`;
    }
    const total = files.reduce((sum, file) => sum + file.size, 0);
    return total > maxUpload ? form.dataset.msgTotalTooLarge : null;
  }

  function element(tag, attributes = {}, text = "") {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      el.setAttribute(name, value);
    }
    if (text) {
      el.textContent = text;
    }
    return el;
  }

  // One entry of the "this session's uploads" list, newest first.
  function newEntry(form, files) {
    const entry = element("li", { class: "batch-live", "data-testid": "batch-progress" });
    const sent = element("progress", { max: "100", value: "0", "data-role": "upload" });
    sent.setAttribute("data-testid", "upload-progress");
    const pages = element("progress", { max: "1", value: "0", "data-role": "pages" });
    pages.setAttribute("data-testid", "pages-progress");
    const status = element("span", { "data-role": "status", "data-testid": "batch-status" });
    status.textContent = form.dataset.msgSending;
    const link = element("a", { "data-role": "link", hidden: "" }, form.dataset.msgDetails);
    const records = element("ul", { class: "records", "data-role": "records" });
    records.dataset.msgReview = form.dataset.msgReview;
    const sentLabel = element("label", {}, `${form.dataset.msgSending} `);
    sentLabel.append(sent);
    const pagesLabel = element("label", {}, `${form.dataset.msgPages} `);
    pagesLabel.append(pages);
    const line = element("p");
    line.append(status, " ", element("span", { "data-role": "stage" }), " ", link);
    entry.append(
      element("p", { class: "names" }, files.map((file) => file.name).join(", ")),
      sentLabel,
      line,
      element("p", { class: "error", "data-role": "reason", role: "alert", hidden: "" }),
      pagesLabel,
      element("span", { "data-role": "pages-text", "data-testid": "pages-text" }),
      records,
    );
    document.getElementById("uploads").prepend(entry);
    return entry;
  }

  function failed(entry, message) {
    setText(entry, "status", "");
    const reason = setText(entry, "reason", message);
    reason.hidden = false;
    entry.dataset.status = "rejected";
  }

  function send(form, input, files) {
    const entry = newEntry(form, files);
    const data = new FormData(form);
    const meta = document.querySelector('meta[name="csrf-token"]');
    const request = new XMLHttpRequest();
    request.open("POST", form.dataset.api);
    request.setRequestHeader("Accept", "application/json");
    if (meta) {
      request.setRequestHeader("X-CSRF-Token", meta.content);
    }
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        role(entry, "upload").value = Math.round((100 * event.loaded) / event.total);
      }
    });
    request.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(request.responseText);
      } catch (error) {
        body = null; // a proxy's or the size limit's plain-text answer
      }
      if (request.status >= 200 && request.status < 300 && body) {
        role(entry, "upload").value = 100;
        const link = role(entry, "link");
        link.href = body.url;
        link.hidden = false;
        entry.dataset.batchId = body.id;
        renderBatch(entry, body);
        if (!body.done) {
          poll(entry, `/api/batches/${encodeURIComponent(body.id)}`);
        }
        return;
      }
      const reason = body && body.message ? body.message : form.dataset.msgFailed;
      failed(entry, `${reason} (${request.status})`);
    });
    request.addEventListener("error", () => failed(entry, form.dataset.msgFailed));
    request.send(data);
    input.value = "";
    showChosen(input, document.getElementById("chosen"));
  }

  function setUpUpload() {
    const form = document.getElementById("upload-form");
    if (!form || !window.FormData || !window.XMLHttpRequest) {
      return; // the plain form still posts to /upload
    }
    const input = document.getElementById("files");
    const zone = document.getElementById("drop-zone");
    const chosen = document.getElementById("chosen");
    const problem = document.getElementById("client-error");
    input.addEventListener("change", () => showChosen(input, chosen));
    for (const name of ["dragenter", "dragover"]) {
      zone.addEventListener(name, (event) => {
        event.preventDefault();
        zone.classList.add("over");
      });
    }
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        showChosen(input, chosen);
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const files = Array.from(input.files);
      const message = clientProblem(form, files);
      problem.textContent = message || "";
      problem.hidden = !message;
      if (!message) {
        send(form, input, files);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpUpload();
    startPolling();
  });
})();
