// sohoa web: live progress of a fixity check on /verify (served from /static: no inline code).
//
// The run section carries data-fixity-poll="/api/fixity/{id}" while its check is running.
// Every second the run is read (RunDetailOut in web/api_verify.py) and the progress bar and
// text are updated. When it has finished, the run's counts, verdict and failures (linked to
// their records), its row of the history and the "latest check" panel are filled in, and
// polling stops. Texts come from the page (data-msg-*), times are shown in the office's zone
// (data-zone). Without JavaScript, reloading the page shows the same.
"use strict";

(() => {
  const POLL_MS = 1000;

  const role = (root, name) => (root ? root.querySelector(`[data-role="${name}"]`) : null);

  const setText = (root, name, value) => {
    const el = role(root, name);
    if (el) {
      el.textContent = value;
    }
  };

  const fill = (template, values) =>
    Object.entries(values).reduce((text, [key, value]) => text.replace(`{${key}}`, value), template);

  // dd/mm/yyyy HH:MM in the office's time zone, as the server writes times.
  function when(iso, zone) {
    const parts = {};
    const format = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone || undefined,
      day: "2-digit",
      month: "2-digit",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    for (const part of format.formatToParts(new Date(iso))) {
      parts[part.type] = part.value;
    }
    return `${parts.day}/${parts.month}/${parts.year} ${parts.hour}:${parts.minute}`;
  }

  function showProgress(root, run) {
    const progress = run.progress;
    const total = progress && progress.total !== null ? progress.total : null;
    const bar = role(root, "progress");
    if (bar && progress) {
      bar.max = total || 1;
      bar.value = progress.done;
    }
    const done = progress ? progress.done : 0;
    setText(root, "progress-text", fill(root.dataset.msgProgress, { done, total: total ?? "?" }));
  }

  function cell(value) {
    const td = document.createElement("td");
    td.textContent = value;
    return td;
  }

  function failureRow(failure) {
    const row = document.createElement("tr");
    row.dataset.testid = "fixity-failure";
    row.dataset.record = failure.record_id || "";
    row.dataset.status = failure.status;
    const what = cell("");
    what.className = "kv";
    if (failure.record_url) {
      const link = document.createElement("a");
      link.href = failure.record_url;
      link.textContent = failure.record_id;
      what.append(link);
    } else {
      what.textContent = failure.key || "";
    }
    row.append(what, cell(failure.unit || "—"), cell(failure.status_text), cell(failure.objects_text));
    return row;
  }

  function showFailures(root, run) {
    const list = role(root, "failures");
    if (!list) {
      return;
    }
    list.replaceChildren(...run.failures.map(failureRow));
    if (!run.failures.length) {
      const none = cell(root.dataset.msgNone || "");
      none.colSpan = 4;
      const row = document.createElement("tr");
      row.append(none);
      list.append(row);
    }
  }

  function setVerdict(el, run, base) {
    if (el) {
      el.className = `${base} verdict-${run.verdict}`;
      el.dataset.verdict = run.verdict;
      setText(el, "verdict", run.verdict_text);
    }
  }

  // The run's line of the history table, if it is on this page.
  function showInHistory(root, run, orphans) {
    const row = document.querySelector(`[data-testid="fixity-history-row"][data-run="${run.id}"]`);
    if (!row) {
      return;
    }
    setVerdict(row, run, "current");
    setText(row, "checked", `${run.checked}`);
    setText(row, "problems", `${run.problems}`);
    setText(row, "orphans", run.orphans === null ? "—" : orphans);
    const seconds = (new Date(run.finished_at) - new Date(run.started_at)) / 1000;
    setText(row, "duration", `${Math.round(seconds)} s`);
  }

  // A finished check is now the latest one: its verdict goes in the panel at the top.
  function showAsLatest(root, run) {
    const panel = document.querySelector('[data-testid="fixity-latest"]');
    if (!panel || run.state !== "done") {
      return;
    }
    setVerdict(panel, run, "fixity-latest");
    const facts = role(panel, "facts");
    const total = run.catalog_records === null ? "?" : run.catalog_records;
    const at = when(run.finished_at, root.dataset.zone);
    const line = fill(root.dataset.msgLatest, { at, checked: run.checked, total, problems: run.problems });
    const link = document.createElement("a");
    link.href = `/verify?run=${run.id}`;
    link.textContent = root.dataset.msgDetails;
    facts.replaceChildren(`${line} · ${run.started_by_text} · ${run.scope_text} · `, link);
  }

  function showFinished(root, run) {
    const live = role(root, "live");
    if (live) {
      live.hidden = true;
    }
    const orphans = run.orphans === null ? root.dataset.msgNotChecked : `${run.orphans}`;
    const total = run.catalog_records === null ? "" : ` / ${run.catalog_records}`;
    setText(root, "checked", `${run.checked}${total}`);
    setText(root, "problems", `${run.problems}`);
    setText(root, "orphans", orphans);
    if (run.finished_at) {
      setText(root, "finished", when(run.finished_at, root.dataset.zone));
    }
    showFailures(root, run);
    showInHistory(root, run, orphans);
    showAsLatest(root, run);
    const start = document.querySelector('[data-testid="fixity-submit"]');
    if (start) {
      start.disabled = false; // this server's one check is over: another may start
    }
  }

  function render(root, run) {
    setVerdict(root, run, "fixity-run");
    if (run.state === "running") {
      showProgress(root, run);
    } else {
      showFinished(root, run);
    }
  }

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
          const run = await answer.json();
          render(root, run);
          if (run.state !== "running") {
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

  document.addEventListener("DOMContentLoaded", () => {
    for (const root of document.querySelectorAll("[data-fixity-poll]")) {
      if (root.dataset.fixityPoll) {
        poll(root, root.dataset.fixityPoll);
      }
    }
  });
})();
